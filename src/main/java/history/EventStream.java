package history;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.Predicate;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code GET /events} answer: the recorded events after its cursor, then the live ones, as Server-Sent Events.
 * Registered for live events before it replays; live events that arrive meanwhile wait in a bounded buffer, and those
 * the replay already sent are skipped. A reader that does not keep up (its buffer full while Vert.x still holds
 * unwritten data) is disconnected: it resumes with {@code Last-Event-ID}, never slowing the bus or other readers.
 */
final class EventStream {

    private static final Logger LOG = LoggerFactory.getLogger(EventStream.class);
    /** Events one replay query reads. */
    private static final int PAGE = 500;
    /** Replayed events this recent are remembered, so that the same event arriving live is not sent twice. */
    private static final long RECENT_MILLIS = 120_000;

    private final HttpServerResponse response;
    private final HistoryStore store;
    private final HistoryQuery replay;
    private final Predicate<String> matches;
    private final int capacity;
    private final Executor executor;
    private final Runnable onClose;
    /** Live events not written yet, guarded by this. */
    private final ArrayDeque<LiveEvents.Framed> pending = new ArrayDeque<>();
    private final Set<String> replayedRecently = new HashSet<>();
    private final String cursor;
    private boolean live;
    private boolean draining;
    /** What runs once the socket takes more (the next replay page, or the live drain), or null; guarded by this. */
    private Runnable whenWritable;
    private volatile boolean closed;
    private volatile String cut;

    EventStream(HttpServerResponse response, HistoryStore store, HistoryQuery replay, Predicate<String> matches, int capacity,
                Executor executor, Runnable onClose) {
        this.response = response;
        this.store = store;
        this.replay = replay;
        this.matches = matches;
        this.capacity = capacity;
        this.executor = executor;
        this.onClose = onClose;
        this.cursor = replay.after();
    }

    /** Live events, on the recorder's thread: buffered, then written by the executor. */
    void offer(List<LiveEvents.Framed> batch) {
        boolean schedule;
        synchronized (this) {
            if (closed) {
                return;
            }
            for (LiveEvents.Framed event : batch) {
                if (!matches.test(event.event().topic())) {
                    continue;
                }
                if (pending.size() >= capacity) {
                    cut("its buffer of " + capacity + " events is full");
                    return;
                }
                pending.add(event);
            }
            schedule = live && !draining && !pending.isEmpty();
            draining |= schedule;
        }
        if (schedule) {
            executor.execute(this::drain);
        }
    }

    /** Sends the recorded events after the cursor, page by page (waiting for the client between pages), then goes live. */
    void replay(HistoryQuery page) {
        if (closed) {
            return;
        }
        HistoryStore.Page found;
        try {
            found = store.query(page, HistoryApi.MAX_PAGE_BYTES);
        } catch (SQLException | RuntimeException e) {
            LOG.debug("Event stream replay: {}", e.toString());
            close(); // the client reconnects (retry:) and resumes from its last id
            return;
        }
        long recent = System.currentTimeMillis() - RECENT_MILLIS;
        Buffer frames = Buffer.buffer();
        for (Event event : found.events()) {
            frames.appendBytes(frame(event));
            if (event.received() >= recent) {
                replayedRecently.add(event.id());
            }
        }
        String last = found.last();
        Runnable next = found.more() && last != null ? () -> replay(page.from(last, PAGE)) : this::goLive;
        if (frames.length() > 0) {
            response.write(frames);
        }
        if (response.writeQueueFull()) {
            resumeWhenWritable(next);
        } else {
            next.run();
        }
    }

    HistoryQuery firstPage() {
        return replay.from(replay.after(), PAGE);
    }

    private void goLive() {
        synchronized (this) {
            live = true;
            if (draining || pending.isEmpty()) {
                return;
            }
            draining = true;
        }
        drain();
    }

    /** Writes the buffered live events until none is left or the client's socket is full (then resumes on drain). */
    private void drain() {
        while (true) {
            Buffer frames = Buffer.buffer();
            boolean full = false;
            while (true) {
                LiveEvents.Framed event;
                synchronized (this) {
                    if (closed) {
                        return;
                    }
                    if (response.writeQueueFull()) {
                        full = true;
                        break;
                    }
                    event = pending.poll();
                }
                if (event == null) {
                    break;
                }
                String id = event.event().id();
                if (replayedRecently.remove(id) || cursor != null && id.compareTo(cursor) <= 0) {
                    continue; // sent by the replay already, or at or before the cursor
                }
                frames.appendBytes(event.frame());
                if (frames.length() >= 64 * 1024) {
                    response.write(frames);
                    frames = Buffer.buffer();
                }
            }
            if (frames.length() > 0) {
                response.write(frames);
            }
            synchronized (this) {
                if (closed) {
                    return;
                }
                if (!full && pending.isEmpty()) {
                    draining = false; // only once what it took is written: a drain started next writes after it
                    return;
                }
            }
            if (full) {
                resumeWhenWritable(this::drain);
                return;
            }
            // more came while it wrote: go on
        }
    }

    /**
     * Runs {@code next} on the executor once the socket takes more, once: Vert.x keeps a drain handler and calls it at
     * every change to writable, so a handler that ran its step itself would run a replay page again later, or a second
     * drain beside a running one (events out of order). Checked again once set: the socket may have drained before.
     */
    private void resumeWhenWritable(Runnable next) {
        synchronized (this) {
            whenWritable = next;
        }
        try {
            response.drainHandler(ignored -> resume());
        } catch (IllegalStateException alreadyGone) {
            return; // the client had gone: closed meanwhile
        }
        if (!response.writeQueueFull()) {
            resume();
        }
    }

    private void resume() {
        Runnable next;
        synchronized (this) {
            next = closed ? null : whenWritable;
            whenWritable = null;
        }
        if (next != null) {
            executor.execute(next);
        }
    }

    /** A comment line that keeps proxies from closing an idle stream. */
    void keepAlive() {
        if (!closed) {
            response.write(": keep-alive\n\n");
        }
    }

    private void cut(String why) {
        cut = why;
        LOG.debug("Event stream cut: {}", why);
        executor.execute(this::close);
    }

    /** Why the stream was cut for being slow, or null. */
    String cutFor() {
        return cut;
    }

    void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            pending.clear();
        }
        onClose.run();
        try {
            if (!response.ended()) {
                response.end();
            }
            response.close();
        } catch (IllegalStateException alreadyGone) {
            // the client had gone
        }
    }

    boolean closed() {
        return closed;
    }

    /** {@code event} as an SSE message: its id, and its JSON on one line (the JSON writer escapes line breaks). */
    static byte[] frame(Event event) {
        byte[] head = ("id: " + event.id() + "\ndata: ").getBytes(StandardCharsets.UTF_8);
        byte[] json = EventJson.event(event);
        byte[] frame = Arrays.copyOf(head, head.length + json.length + 2);
        System.arraycopy(json, 0, frame, head.length, json.length);
        frame[frame.length - 2] = '\n';
        frame[frame.length - 1] = '\n';
        return frame;
    }
}
