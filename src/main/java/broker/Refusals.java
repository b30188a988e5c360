package broker;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.netty.channel.Channel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connections the broker closes on purpose, counted by reason, with at most one log line a minute per reason (how many
 * since the last line, the latest one's address and why): a client refused again and again cannot fill the log.
 */
final class Refusals {

    private static final Logger LOG = LoggerFactory.getLogger(Refusals.class);
    private static final long LOG_INTERVAL_NANOS = 60_000_000_000L;

    private static final class Reason {
        final LongAdder count = new LongAdder();
        final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - LOG_INTERVAL_NANOS);
        final AtomicLong unlogged = new AtomicLong();
    }

    private final Map<String, Reason> reasons = new ConcurrentHashMap<>();

    /** Counts and closes {@code channel}; {@code why}: what the log line says of it. */
    void refuse(Channel channel, String reason, String why) {
        Reason counts = reasons.computeIfAbsent(reason, r -> new Reason());
        counts.count.increment();
        long count = counts.unlogged.incrementAndGet();
        long last = counts.lastLogged.get();
        long now = System.nanoTime();
        if (now - last >= LOG_INTERVAL_NANOS && counts.lastLogged.compareAndSet(last, now)) {
            counts.unlogged.addAndGet(-count);
            LOG.warn("Closed the connection from {}: {}; {} closed for this reason ({}) since the last such line",
                    channel.remoteAddress(), why, count, reason);
        }
        channel.close();
    }

    /** Connections closed for {@code reason} since start. */
    long count(String reason) {
        Reason counts = reasons.get(reason);
        return counts == null ? 0 : counts.count.sum();
    }
}
