package broker.guard;

import broker.observe.MinuteLog;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connections the broker closes on purpose, counted by listener and reason, with at most one log line a minute per
 * reason (how many since the last line, the latest one's address, listener and why; no stack trace): a hostile client
 * refused again and again cannot fill the log.
 */
public final class Refusals {

    /** Over {@code firehose.broker.max-connections}. */
    public static final String MAX_CONNECTIONS = "max-connections";
    /** A topic, filter, client id, will topic or user name that is not well-formed UTF-8 or holds U+0000. */
    public static final String INVALID_STRING = "invalid-string";
    /** A client id Artemis cannot hold: it writes ids into filter expressions unquoted ({@code '}). */
    public static final String CLIENT_ID = "client-id";
    /** A socket that sent no first packet within {@code firehose.broker.handshake-timeout} ({@link HandshakeTimeout}). */
    public static final String HANDSHAKE_TIMEOUT = "handshake-timeout";
    /**
     * Bytes that are no MQTT packet (random bytes, a broken length, a packet over the maximum size, ...), or a first
     * packet that is not a CONNECT ({@link FirstPacket}).
     */
    public static final String MALFORMED_PACKET = "malformed-packet";

    /** Every reason a connection may be closed for, as counted. */
    public static final List<String> REASONS = List.of(MAX_CONNECTIONS, INVALID_STRING, CLIENT_ID, MALFORMED_PACKET, HANDSHAKE_TIMEOUT);

    private static final Logger LOG = LoggerFactory.getLogger(Refusals.class);

    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    private final Map<String, MinuteLog> logs = new ConcurrentHashMap<>();
    private final IntFunction<String> listenerOfPort;

    /** {@code listenerOfPort}: the listener's name for a local port. */
    Refusals(IntFunction<String> listenerOfPort) {
        this.listenerOfPort = listenerOfPort;
    }

    /** Counts and closes {@code channel}; {@code why}: what the log line says of it. */
    void refuse(Channel channel, String reason, String why) {
        refuse(channel, reason, why, null);
    }

    /**
     * Counts, then writes {@code answer} (when not null) and closes {@code channel} once it is written. Counted first, so
     * that whoever reads the answer finds it counted.
     */
    void refuse(Channel channel, String reason, String why, Object answer) {
        String listener = channel.localAddress() instanceof InetSocketAddress local ? listenerOfPort.apply(local.getPort()) : "?";
        closed(listener, reason, channel.remoteAddress(), why);
        if (answer == null) {
            channel.close();
        } else {
            channel.writeAndFlush(answer).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * Counts a connection closed already (by Netty, or by this class), or about to be: one log line a minute per reason.
     * {@code remote}: the client's address, null when not known.
     */
    void closed(String listener, String reason, Object remote, String why) {
        counts.computeIfAbsent(listener + "/" + reason, k -> new LongAdder()).increment();
        long count = logs.computeIfAbsent(reason, r -> new MinuteLog()).happened();
        if (count > 0) {
            LOG.warn("Closed the connection {} on {}: {}; {} closed for this reason ({}) since the last such line",
                    remote == null ? "of a client" : "from " + remote, listener, why, count, reason);
        }
    }

    /** Connections closed on {@code listener} for {@code reason} since start. */
    long count(String listener, String reason) {
        LongAdder count = counts.get(listener + "/" + reason);
        return count == null ? 0 : count.sum();
    }

    /** Connections closed for {@code reason} since start, all listeners together. */
    long count(String reason) {
        return counts.entrySet().stream().filter(e -> e.getKey().endsWith("/" + reason)).mapToLong(e -> e.getValue().sum()).sum();
    }
}
