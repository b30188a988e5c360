package subunit;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.Exchange;
import org.apache.camel.spi.IdempotentRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import publish.Topic;

/**
 * The steps every subunit input shares: stream → summary → event and topic, and the ledger of events already
 * published, so that an input sent again (a retried job, a file seen again after a restart) is not published twice.
 */
public final class SubunitResults {

    /** Exchange property: the job's metadata ({@link ObjectNode}), set by the input before {@link #summarize}. */
    public static final String METADATA = "SubunitMetadata";
    /** Exchange property: the input's identity in the ledger. */
    public static final String KEY = "SubunitKey";
    /** Exchange property: true when the ledger already has the event; it is not published again. */
    public static final String DUPLICATE = "SubunitDuplicate";
    /** Exchange property: what the input was (file name, URL, "upload from ..."), for the logs. */
    public static final String INPUT = "SubunitInputName";

    private static final Logger LOG = LoggerFactory.getLogger(SubunitResults.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseTopic;
    private final String worker;
    private final int maxFailures;
    private final IdempotentRepository ledger;
    private final MeterRegistry metrics;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();

    public SubunitResults(String baseTopic, String worker, int maxFailures, IdempotentRepository ledger, MeterRegistry metrics) {
        this.baseTopic = baseTopic;
        this.worker = worker;
        this.maxFailures = maxFailures;
        this.ledger = ledger;
        this.metrics = metrics != null ? metrics : new SimpleMeterRegistry();
        for (String outcome : new String[] {"published", "duplicate", "rejected"}) {
            counter(outcome);
        }
    }

    /** Body: the stream as received (gzip or not). Leaves the event's JSON as body and its topic in the header. */
    public void summarize(Exchange exchange) throws IOException {
        ObjectNode metadata = exchange.getProperty(METADATA, ObjectNode.class);
        SubunitSummary summary;
        try (InputStream stream = SubunitInput.open(exchange.getMessage().getMandatoryBody(InputStream.class))) {
            summary = SubunitSummary.of(stream, maxFailures);
        } catch (org.apache.camel.InvalidPayloadException e) {
            throw new SubunitFormatException("no stream in the request");
        }
        ObjectNode event = SubunitEvent.build(metadata, summary);
        String key = SubunitEvent.key(metadata, summary);
        exchange.setProperty(KEY, key);
        exchange.setProperty(DUPLICATE, ledger.contains(key));
        exchange.getMessage().setHeader(Topic.HEADER, SubunitEvent.topic(baseTopic, worker, metadata));
        exchange.getMessage().setBody(JSON.writeValueAsString(event));
        LOG.debug("{}: {} tests, {} failed, {} bytes", exchange.getProperty(INPUT), summary.total(), summary.failed(), summary.bytes());
    }

    /** After the broker acknowledged the event: remembered, so the same input is not published again. */
    public void published(Exchange exchange) {
        ledger.add(exchange.getProperty(KEY, String.class));
        counter("published").increment();
        LOG.info("Subunit results from {} published on {}", exchange.getProperty(INPUT), exchange.getMessage().getHeader(Topic.HEADER));
    }

    public void duplicate(Exchange exchange) {
        counter("duplicate").increment();
        LOG.info("Subunit results from {} were published before; not again", exchange.getProperty(INPUT));
    }

    public void rejected(Exchange exchange, Throwable reason) {
        counter("rejected").increment();
        LOG.warn("Subunit results from {} rejected: {}", exchange.getProperty(INPUT), reason.getMessage());
    }

    private Counter counter(String outcome) {
        return counters.computeIfAbsent(outcome, o -> Counter.builder("firehose.subunit.inputs").tag("outcome", o)
                .description("subunit inputs by outcome: published, duplicate (published before), rejected (bad input)")
                .register(metrics));
    }
}
