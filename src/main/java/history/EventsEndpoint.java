package history;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import broker.observe.MinuteLog;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /events}: the catch-up stream (Server-Sent Events). Served by a handler on the Vert.x router under Camel's
 * platform HTTP, on the same port: a Camel exchange ends with its answer, and an answer body Camel streams is read by
 * blocking a worker thread for as long as it lasts, one per open stream; this handler writes to the response as events
 * come, with no thread held.
 */
public final class EventsEndpoint {

    private static final Logger LOG = LoggerFactory.getLogger(EventsEndpoint.class);
    /** Seconds between keep-alive comments. */
    static final int KEEP_ALIVE_SECONDS = 15;
    /** Live events one stream holds for its reader at most; beyond, the reader is disconnected. */
    static final int BUFFER = 10_000;

    private final History history;
    private final int maxStreams;
    private final Set<EventStream> streams = ConcurrentHashMap.newKeySet();
    private final AtomicInteger admitted = new AtomicInteger();
    private final LongAdder opened = new LongAdder();
    private final LongAdder cut = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final MinuteLog refusals = new MinuteLog();
    private final MinuteLog cuts = new MinuteLog();
    private final ExecutorService writers;
    private final ScheduledExecutorService keepAlive;

    EventsEndpoint(History history, int maxStreams) {
        this.history = history;
        this.maxStreams = maxStreams;
        this.writers = Executors.newFixedThreadPool(2, named("firehose-events"));
        this.keepAlive = Executors.newSingleThreadScheduledExecutor(named("firehose-events-keep-alive"));
        keepAlive.scheduleWithFixedDelay(() -> streams.forEach(EventStream::keepAlive), KEEP_ALIVE_SECONDS, KEEP_ALIVE_SECONDS,
                TimeUnit.SECONDS);
    }

    public void handle(RoutingContext context) {
        HttpServerRequest request = context.request();
        HttpServerResponse response = context.response();
        response.putHeader("Access-Control-Allow-Origin", "*");
        response.putHeader("Cache-Control", "no-store");
        HistoryQuery query;
        try {
            query = HistoryQuery.stream(request.query(), request.getHeader("Last-Event-ID"), System.currentTimeMillis());
        } catch (HistoryQuery.BadParameter e) {
            response.setStatusCode(400).putHeader("Content-Type", "application/json").end(io.vertx.core.buffer.Buffer.buffer(EventJson.error(e.getMessage())));
            return;
        }
        if (admitted.incrementAndGet() > maxStreams) {
            admitted.decrementAndGet();
            refused.increment();
            long count = refusals.happened();
            if (count > 0) {
                LOG.warn("Refused an event stream from {}: {} streams open (firehose.events.max-streams); {} refused since the last such line",
                        request.remoteAddress(), maxStreams, count);
            }
            response.setStatusCode(503).putHeader("Retry-After", "10").putHeader("Content-Type", "application/json")
                    .end(io.vertx.core.buffer.Buffer.buffer(EventJson.error("too many event streams open; try again later")));
            return;
        }
        opened.increment();
        response.setChunked(true);
        response.putHeader("Content-Type", "text/event-stream; charset=utf-8");
        response.putHeader("X-Accel-Buffering", "no"); // a proxy (nginx) passes events on at once
        response.write("retry: 2000\n\n");
        EventStream[] self = new EventStream[1];
        EventStream stream = new EventStream(response, history.store(), query,
                TopicPattern.matcher(query.topics(), history.wildcards()), BUFFER, writers, () -> {
                    if (streams.remove(self[0])) {
                        admitted.decrementAndGet();
                        history.live().remove(self[0]);
                        if (self[0].cutFor() != null) {
                            cut.increment();
                            long count = cuts.happened();
                            if (count > 0) {
                                LOG.warn("Cut an event stream that did not keep up ({}); {} cut since the last such line", self[0].cutFor(), count);
                            }
                        }
                    }
                });
        self[0] = stream;
        streams.add(stream);
        response.closeHandler(ignored -> stream.close());
        response.exceptionHandler(ignored -> stream.close());
        history.live().register(stream); // before the replay's first query: nothing falls between the two
        writers.execute(() -> stream.replay(stream.firstPage()));
    }

    int open() {
        return streams.size();
    }

    long opened() {
        return opened.sum();
    }

    long cut() {
        return cut.sum();
    }

    long refused() {
        return refused.sum();
    }

    void stop() {
        keepAlive.shutdownNow();
        streams.forEach(EventStream::close);
        writers.shutdown();
    }

    private static java.util.concurrent.ThreadFactory named(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }

}
