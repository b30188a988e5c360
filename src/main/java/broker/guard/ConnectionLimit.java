package broker.guard;

import java.util.concurrent.atomic.AtomicInteger;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.util.ReferenceCountUtil;

/**
 * {@code firehose.broker.max-connections} over all listeners together (Artemis' own limit counts each listener
 * separately, and logs two lines with a stack trace for every connection it refuses). A connection over the limit is
 * closed at its CONNECT. The routes' own client is neither counted nor refused (the sources must keep publishing to a
 * full broker). The log gets at most one line a minute, with how many were refused.
 */
public final class ConnectionLimit {


    private final int max;
    private final String internalUser;
    private final Refusals refusals;
    private final AtomicInteger open = new AtomicInteger();

    ConnectionLimit(int max, String internalUser, Refusals refusals) {
        this.max = max;
        this.internalUser = internalUser;
        this.refusals = refusals;
    }

    /** A connection's pipeline handler that counts it in, or closes it at its CONNECT when the broker is full. */
    ChannelHandler handler() {
        return new Handler();
    }

    /** Connections refused since start because the broker was full. */
    long refused() {
        return refusals.count(Refusals.MAX_CONNECTIONS);
    }

    private void refuse(Channel channel) {
        refusals.refuse(channel, Refusals.MAX_CONNECTIONS, "the broker holds its limit of " + max + " connections (firehose.broker.max-connections)");
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
