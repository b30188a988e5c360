package broker.observe;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One log line a minute at most for one kind of event, however often it happens: a hostile client repeating it
 * cannot fill the log. The line says how many happened since the last one.
 */
public final class MinuteLog {

    private static final long INTERVAL_NANOS = 60_000_000_000L;

    private final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - INTERVAL_NANOS);
    private final AtomicLong unlogged = new AtomicLong();

    /** Counts one event; returns how many to report when a line is due for it now, else 0. */
    public long happened() {
        return happened(1);
    }

    /** Counts {@code events} at once; returns how many to report when a line is due for them now, else 0. */
    public long happened(long events) {
        long count = unlogged.addAndGet(events);
        long then = lastLogged.get();
        long now = System.nanoTime();
        if (now - then >= INTERVAL_NANOS && lastLogged.compareAndSet(then, now)) {
            unlogged.addAndGet(-count);
            return count;
        }
        return 0;
    }
}
