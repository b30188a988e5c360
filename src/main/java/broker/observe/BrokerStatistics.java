package broker.observe;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;

/**
 * Message counters, the figures behind {@code $SYS/broker/...} and {@code /observe/metrics}: PUBLISH packets
 * counted as they are read, deliveries and drops read from the subscription queues' own counters when asked.
 */
public final class BrokerStatistics {

    private final LongAdder received = new LongAdder();
    private final LongAdder pausesCaughtUp = new LongAdder();
    private final LongAdder pausesAtLimit = new LongAdder();
    private final LongSupplier delivered;
    private final LongSupplier replaced;
    private final LongSupplier connectionsRefused;

    /**
     * {@code delivered}, {@code replaced}: the subscription queues' own counters of deliveries and of messages dropped;
     * {@code connectionsRefused}: the connection limit's count.
     */
    public BrokerStatistics(LongSupplier delivered, LongSupplier replaced, LongSupplier connectionsRefused) {
        this.delivered = delivered;
        this.replaced = replaced;
        this.connectionsRefused = connectionsRefused;
    }

    /** Connections closed at once because the broker held {@code firehose.broker.max-connections}. */
    public long connectionsRefused() {
        return connectionsRefused.getAsLong();
    }

    /** A pipeline handler, after the MQTT decoder, that counts the PUBLISH packets read from clients. */
    public ChannelInboundHandler publishCounter() {
        return new PublishCounter();
    }

    /** PUBLISH packets received from clients (refused ones included, as Mosquitto counts them). */
    public long messagesReceived() {
        return received.sum();
    }

    /** Messages delivered to subscribers. */
    public long messagesSent() {
        return delivered.getAsLong();
    }

    /** Oldest messages dropped from a subscriber's full backlog. */
    public long messagesDropped() {
        return replaced.getAsLong();
    }

    public void publisherPaused(boolean caughtUp) {
        (caughtUp ? pausesCaughtUp : pausesAtLimit).increment();
    }

    /** Times a publisher was not read from until the broker caught up (the publisher back-pressure). */
    public long publisherPausesCaughtUp() {
        return pausesCaughtUp.sum();
    }

    /** Times a publisher's pause ended at the 1 s limit, the broker still behind (or the connection gone). */
    public long publisherPausesAtLimit() {
        return pausesAtLimit.sum();
    }

    @ChannelHandler.Sharable
    private final class PublishCounter extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof MqttMessage mqtt && mqtt.fixedHeader() != null
                    && mqtt.fixedHeader().messageType() == MqttMessageType.PUBLISH) {
                received.increment();
            }
            super.channelRead(ctx, msg);
        }
    }
}
