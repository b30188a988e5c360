package broker;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code firehose.broker.max-connections} over all listeners together (Artemis' own limit counts each listener
 * separately, and logs two lines with a stack trace for every connection it refuses). A connection over the limit is
 * closed at its CONNECT. The routes' own client is neither counted nor refused (the sources must keep publishing to a
 * full broker). The log gets at most one line a minute, with how many were refused.
 */
final class ConnectionLimit {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimit.class);
    private static final long LOG_INTERVAL_NANOS = 60_000_000_000L;

    private final int max;
    private final String internalUser;
    private final AtomicInteger open = new AtomicInteger();
    private final LongAdder refused = new LongAdder();
    private final AtomicLong lastLogged = new AtomicLong(System.nanoTime() - LOG_INTERVAL_NANOS);
    private final AtomicLong unlogged = new AtomicLong();

    ConnectionLimit(int max, String internalUser) {
        this.max = max;
        this.internalUser = internalUser;
    }

    /** A connection's pipeline handler that counts it in, or closes it at its CONNECT when the broker is full. */
    ChannelHandler handler() {
        return new Handler();
    }

    /** Connections refused since start because the broker was full. */
    long refused() {
        return refused.sum();
    }

    private void refuse(Channel channel) {
        refused.increment();
        long count = unlogged.incrementAndGet();
        long last = lastLogged.get();
        long now = System.nanoTime();
        if (now - last >= LOG_INTERVAL_NANOS && lastLogged.compareAndSet(last, now)) {
            unlogged.addAndGet(-count);
            LOG.warn("Refused connection from {}: the broker holds its limit of {} connections (firehose.broker.max-connections); "
                    + "{} refused since the last such line", channel.remoteAddress(), max, count);
        }
        channel.close();
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        private boolean over;
        private boolean counted = true;
        private boolean connected;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            over = open.incrementAndGet() > max;
            ctx.channel().closeFuture().addListener(closed -> {
                if (counted) {
                    open.decrementAndGet();
                }
            });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (!connected) {
                connected = true;
                if (msg instanceof MqttConnectMessage connect && internalUser.equals(connect.payload().userName())) {
                    counted = false; // the routes' own client: not a client connection, and never refused
                    open.decrementAndGet();
                } else if (over) {
                    ReferenceCountUtil.release(msg);
                    refuse(ctx.channel());
                    return;
                }
            }
            ctx.fireChannelRead(msg);
        }
    }
}
