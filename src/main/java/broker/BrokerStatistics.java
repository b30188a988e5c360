package broker;

import java.util.concurrent.atomic.LongAdder;

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
    private volatile SubscriptionQueues queues;
    private volatile ConnectionLimit limit;

    void countFrom(SubscriptionQueues queues) {
        this.queues = queues;
    }

    void countFrom(ConnectionLimit limit) {
        this.limit = limit;
    }

    /** Connections closed at once because the broker held {@code firehose.broker.max-connections}. */
    public long connectionsRefused() {
        ConnectionLimit current = limit;
        return current == null ? 0 : current.refused();
    }

    /** A pipeline handler, after the MQTT decoder, that counts the PUBLISH packets read from clients. */
    ChannelInboundHandler publishCounter() {
        return new PublishCounter();
    }

    /** PUBLISH packets received from clients (refused ones included, as Mosquitto counts them). */
    public long messagesReceived() {
        return received.sum();
    }

    /** Messages delivered to subscribers. */
    public long messagesSent() {
        SubscriptionQueues current = queues;
        return current == null ? 0 : current.delivered();
    }

    /** Oldest messages dropped from a subscriber's full backlog. */
    public long messagesDropped() {
        SubscriptionQueues current = queues;
        return current == null ? 0 : current.replaced();
    }

    void publisherPaused(boolean caughtUp) {
        (caughtUp ? pausesCaughtUp : pausesAtLimit).increment();
    }

    /** Times a publisher was not read from until the broker caught up ({@link PublisherBackPressure}). */
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
