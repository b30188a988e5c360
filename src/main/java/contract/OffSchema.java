package contract;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import broker.observe.MinuteLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import publish.Topic;

/**
 * Checks each event a source route publishes against its JSON Schema, on its way to the broker
 * ({@code firehose_events_checked_total{source}}): an event that does not match is counted
 * ({@code firehose_events_off_schema_total{source,type}}) and logged, one line a minute at most, and published as it
 * is, never dropped or altered. A route names its source in the {@link #SOURCE} header, which goes no
 * further; an exchange without it is not checked.
 */
public final class OffSchema implements Processor {

    /** The header a route sets to the source of its events: gerrit, launchpad, subunit or sys. */
    public static final String SOURCE = "FirehoseSource";

    private static final Logger LOG = LoggerFactory.getLogger(OffSchema.class);

    private final EventSchemas schemas;
    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Counter> checked = new ConcurrentHashMap<>();
    private final MinuteLog minute = new MinuteLog();
    private volatile String last;

    public OffSchema(EventSchemas schemas, MeterRegistry registry) {
        this.schemas = schemas;
        this.registry = registry != null ? registry : new SimpleMeterRegistry();
        // each kind a route publishes at 0 from the start: a dashboard has the series before the first event off schema
        for (EventSchemas.Entry entry : schemas.index()) {
            if (!entry.source().equals("zuul") && !entry.source().equals("ansible")) { // published by their own clients
                counter(entry.source(), entry.type());
            }
        }
    }

    @Override
    public void process(Exchange exchange) {
        var message = exchange.getMessage();
        String source = message.getHeader(SOURCE, String.class);
        if (source == null) {
            return;
        }
        message.removeHeader(SOURCE);
        Object body = message.getBody();
        byte[] payload = body instanceof byte[] bytes ? bytes
                : body instanceof String text ? text.getBytes(StandardCharsets.UTF_8) : message.getBody(byte[].class);
        String topic = message.getHeader(Topic.HEADER, String.class);
        EventSchemas.Verdict verdict = schemas.check(source, topic, payload == null ? new byte[0] : payload);
        checked.computeIfAbsent(verdict.source(), name -> Counter.builder("firehose.events.checked")
                .description("Events published that were checked against their JSON Schema").tag("source", name).register(registry))
                .increment();
        if (verdict.valid()) {
            return;
        }
        counter(verdict.source(), verdict.type()).increment();
        last = verdict.source() + " " + verdict.type() + " on " + topic + ", against /schemas/" + verdict.schema() + ": " + verdict.problems();
        long unlogged = minute.happened();
        if (unlogged > 0) {
            LOG.warn("{} event(s) published off their schema in the last minute (counted in firehose_events_off_schema_total);"
                    + " the last: {}", unlogged, last);
        }
    }

    /** Events found off their schema so far, all kinds together. */
    public double count() {
        return counters.values().stream().mapToDouble(Counter::count).sum();
    }

    /** The last event found off its schema (source, type, topic, schema, problems), or null. */
    public String last() {
        return last;
    }

    private Counter counter(String source, String type) {
        return counters.computeIfAbsent(source + '\u0000' + type, key -> Counter.builder("firehose.events.off.schema")
                .description("Events published that do not match their JSON Schema").tag("source", source).tag("type", type)
                .register(registry));
    }
}
