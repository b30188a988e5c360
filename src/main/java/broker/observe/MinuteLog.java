package broker.observe;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * One log line a minute at most for one kind of event, however often it happens: a hostile client repeating it
 * cannot fill the log. The line says how many happened since the last one.
 */
public final class MinuteLog {

    private static final long INTERVAL_NANOS = 60_000_000_000L;

    private final LongSupplier clock;
    private final AtomicLong lastLogged;
    private final AtomicLong unlogged = new AtomicLong();

    public MinuteLog() {
        this(System::nanoTime);
    }

    /** With {@code clock} (nanoseconds, as {@link System#nanoTime()}) for the time. */
    public MinuteLog(LongSupplier clock) {
        this.clock = clock;
        this.lastLogged = new AtomicLong(clock.getAsLong() - INTERVAL_NANOS);
    }

    /** Counts one event; returns how many to report when a line is due for it now, else 0. */
    public long happened() {
        return happened(1);
    }

    /** Counts {@code events} at once; returns how many to report when a line is due for them now, else 0. */
    public long happened(long events) {
        long count = unlogged.addAndGet(events);
        long then = lastLogged.get();
        long now = clock.getAsLong();
        if (now - then >= INTERVAL_NANOS && lastLogged.compareAndSet(then, now)) {
            unlogged.addAndGet(-count);
            return count;
        }
        return 0;
    }
}
