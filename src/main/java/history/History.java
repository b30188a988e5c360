package history;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import broker.EmbeddedBroker;
import broker.events.EventIds;
import org.apache.activemq.artemis.core.config.WildcardConfiguration;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The history of the bus: the store, the recorder that fills it, the retention that empties it, and what they show
 * (the {@code history} health check, {@code firehose_history_*} metrics). Started after the broker, stopped before it.
 */
public final class History extends ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(History.class);
    /** Events one retention batch deletes at most. */
    static final int RETENTION_BATCH = 1_000;

    private final HistorySettings settings;
    private final EmbeddedBroker broker;
    private HistoryStore store;
    private Recorder recorder;
    private ScheduledExecutorService tasks;
    private volatile long sizeBytes = -1;
    private Timer queries;
    private final LiveEvents live = new LiveEvents();
    private EventsEndpoint events;

    public History(HistorySettings settings, EmbeddedBroker broker) {
        this.settings = settings;
        this.broker = broker;
    }

    @Override
    protected void doStart() throws Exception {
        store = new HistoryStore(settings, broker.server().getConfiguration().getWildcardConfiguration());
        try {
            store.migrate();
        } catch (RuntimeException e) {
            LOG.warn("History store {} unavailable at start, events wait in the broker until it is back: {}", settings, e.getMessage());
        }
        recorder = new Recorder(broker, store, settings.backlog(), live);
        recorder.start();
        tasks = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "firehose-history-retention");
            thread.setDaemon(true);
            return thread;
        });
        tasks.scheduleWithFixedDelay(this::retain, 10, 60, TimeUnit.SECONDS);
        LOG.info("History: {}", settings);
    }

    @Override
    protected void doStop() throws Exception {
        if (events != null) {
            events.stop();
        }
        if (tasks != null) {
            tasks.shutdownNow();
        }
        if (recorder != null) {
            recorder.stop();
        }
        if (store != null) {
            store.close();
        }
    }

    /** Deletes the events older than the max age, a small batch at a time. */
    void retain() {
        try {
            String oldestKept = EventIds.lowestAt(System.currentTimeMillis() - settings.maxAge().toMillis());
            int deleted;
            long total = 0;
            do {
                deleted = store.deleteBefore(oldestKept, RETENTION_BATCH);
                total += deleted;
            } while (deleted == RETENTION_BATCH && !Thread.currentThread().isInterrupted());
            if (total > 0) {
                LOG.info("History: {} events older than {} deleted", total, settings.maxAge());
            }
            sizeBytes = store.size();
        } catch (SQLException | RuntimeException e) {
            LOG.debug("History retention: {}", e.toString());
        }
    }

    public HistoryStore store() {
        return store;
    }

    LiveEvents live() {
        return live;
    }

    WildcardConfiguration wildcards() {
        return broker.server().getConfiguration().getWildcardConfiguration();
    }

    /** The {@code GET /events} handler, made once. */
    public synchronized EventsEndpoint events() {
        if (events == null) {
            events = new EventsEndpoint(this, settings.maxStreams());
        }
        return events;
    }

    public Duration maxAge() {
        return settings.maxAge();
    }

    /** Times one query for the metrics. */
    public void timed(long nanos) {
        Timer timer = queries;
        if (timer != null) {
            timer.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    public void bindTo(MeterRegistry registry) {
        FunctionCounter.builder("firehose.history.recorded", this, h -> h.recorder == null ? 0 : h.recorder.recorded())
                .description("Events written to the history store since start").register(registry);
        Gauge.builder("firehose.history.waiting", this, h -> h.recorder == null ? 0 : h.recorder.waiting())
                .description("Events on the bus not recorded yet (kept by the broker until the store takes them)").register(registry);
        FunctionCounter.builder("firehose.history.lost", this, h -> h.recorder == null ? 0 : h.recorder.lost() + h.recorder.unreadable())
                .description("Events never recorded: dropped, oldest first, while firehose.history.backlog events waited for the store, "
                        + "or unreadable").register(registry);
        Gauge.builder("firehose.history.lag.seconds", this, h -> h.recorder == null ? 0 : h.recorder.lagSeconds())
                .description("How far recording is behind the bus").register(registry);
        Gauge.builder("firehose.history.store.bytes", this, h -> h.sizeBytes)
                .description("Bytes the recorded events take in the store (measured each minute; -1 before)").register(registry);
        Gauge.builder("firehose.events.streams", this, h -> h.events == null ? 0 : h.events.open())
                .description("GET /events streams open now").register(registry);
        FunctionCounter.builder("firehose.events.streams.opened", this, h -> h.events == null ? 0 : h.events.opened())
                .description("GET /events streams opened since start").register(registry);
        FunctionCounter.builder("firehose.events.streams.cut", this, h -> h.events == null ? 0 : h.events.cut())
                .description("Streams disconnected because their reader did not keep up").register(registry);
        FunctionCounter.builder("firehose.events.streams.refused", this, h -> h.events == null ? 0 : h.events.refused())
                .description("Streams refused over firehose.events.max-streams").register(registry);
        queries = Timer.builder("firehose.history.queries").description("History queries answered, and their time")
                .publishPercentiles(0.5, 0.99).register(registry);
    }

    /**
     * DOWN while events cannot be written, or the store cannot be reached. Neither a liveness nor a readiness check:
     * the bus goes on without its store, and a node must neither be restarted nor taken out of service for it.
     */
    public AbstractHealthCheck healthCheck() {
        AbstractHealthCheck check = new AbstractHealthCheck("firehose", "history") {
            @Override
            public boolean isLiveness() {
                return false;
            }

            @Override
            public boolean isReadiness() {
                return false;
            }

            @Override
            protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
                Recorder current = recorder;
                String failure = current == null ? "not started" : current.failure();
                if (failure == null && store != null) {
                    try {
                        store.migrate();
                        if (!store.reachable()) {
                            failure = "the store cannot be reached";
                        }
                    } catch (RuntimeException e) {
                        failure = e.getMessage();
                    }
                }
                builder.detail("waiting", current == null ? 0 : current.waiting());
                if (failure == null) {
                    builder.up();
                } else {
                    builder.message("events are not being recorded: " + failure).down();
                }
            }
        };
        return check;
    }
}
