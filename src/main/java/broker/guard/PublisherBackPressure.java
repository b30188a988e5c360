package broker.guard;

import broker.observe.BrokerStatistics;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.util.AttributeKey;
import org.apache.activemq.artemis.core.protocol.mqtt.BoundedMQTTProtocolManagerFactory;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.ServerProducer;
import org.apache.activemq.artemis.core.server.ServerSession;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;

/**
 * Slows publishers down to what the broker can fan out, as a single-threaded broker does by itself. Artemis reads
 * MQTT publishes as fast as they arrive and queues them, so without this a publisher going flat out grows the
 * broker's memory by gigabytes and overflows every subscriber's backlog. A connection is not read from while
 * <ul>
 * <li>more than {@code mark} of the publishes it sent are read but not yet routed (the broker is behind on it), or
 * <li>most connected subscriptions hold more than {@code mark} undelivered messages (the fan-out is behind);
 *     one stalled subscriber does not count.
 * </ul>
 * A pause lasts at most a second at a time, whatever the counts say.
 */
public final class PublisherBackPressure {

    private static final AttributeKey<Backlog> BACKLOG = AttributeKey.valueOf("firehose.publish-backlog");
    private static final long MAX_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Subscriptions whose backlog one fan-out check reads, at most (spread over the checks in turn). */
    private static final int SAMPLE = 64;

    private final int mark;
    private final Supplier<Queue[]> subscriptions;
    private final BrokerStatistics statistics;
    private volatile ActiveMQServer server;
    private volatile boolean fanOutBehind;
    private ScheduledFuture<?> check;
    private int round;
    private long receivedAtLastCheck = -1;

    /**
     * Publishes of one connection: read from its socket (counted on the connection's event loop), and routed (the
     * count Artemis keeps for the connection's MQTT producer, found once it exists).
     */
    private static final class Backlog {
        long read;
        ServerProducer producer;
    }

    /** {@code subscriptions}: the subscription queues live now. */
    public PublisherBackPressure(int mark, Supplier<Queue[]> subscriptions, BrokerStatistics statistics) {
        this.mark = mark;
        this.subscriptions = subscriptions;
        this.statistics = statistics;
    }

    public void start(ActiveMQServer server) {
        this.server = server;
        check = server.getScheduledPool().scheduleWithFixedDelay(this::checkFanOut, 20, 20, TimeUnit.MILLISECONDS);
    }

    public void stop() {
        if (check != null) {
            check.cancel(false);
        }
        fanOutBehind = false;
    }

    /**
     * Reads the backlog of up to {@link #SAMPLE} subscriptions with a consumer, a different share each time; not
     * while nothing is published and the fan-out was found caught up (nobody to hold back then).
     */
    private void checkFanOut() {
        long received = statistics.messagesReceived();
        if (!fanOutBehind && received == receivedAtLastCheck) {
            return;
        }
        receivedAtLastCheck = received;
        try {
            Queue[] queues = subscriptions.get();
            int step = Math.max(1, queues.length / SAMPLE);
            int active = 0;
            int late = 0;
            for (int i = Math.floorMod(round++, step); i < queues.length; i += step) {
                if (queues[i].getConsumerCount() > 0) {
                    active++;
                    if (queues[i].getMessageCount() > mark) {
                        late++;
                    }
                }
            }
            fanOutBehind = active > 0 && late * 2 > active;
        } catch (RuntimeException e) {
            fanOutBehind = false; // never keep publishers paused on a failed check
        }
    }

    private boolean behind(Channel channel, Backlog backlog) {
        if (fanOutBehind) {
            return true;
        }
        if (backlog.read <= mark) {
            return false;
        }
        if (backlog.producer == null) {
            backlog.producer = producerOf(channel);
        }
        long routed = backlog.producer == null ? 0 : backlog.producer.getMessagesSent();
        return backlog.read - routed > mark;
    }

    /** The MQTT producer Artemis made for the connection at its first PUBLISH; null until then. */
    private ServerProducer producerOf(Channel channel) {
        RemotingConnection connection = BoundedMQTTProtocolManagerFactory.connectionOf(channel);
        ActiveMQServer current = server;
        if (connection == null || current == null) {
            return null;
        }
        for (ServerSession session : current.getSessions(connection.getID().toString())) {
            for (ServerProducer producer : session.getServerProducers()) {
                return producer;
            }
        }
        return null;
    }

    /** A pipeline handler, after the MQTT decoder: counts the publishes read, and pauses reading while behind. */
    ChannelInboundHandlerAdapter handler() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
                if (msg instanceof MqttMessage mqtt && mqtt.fixedHeader() != null
                        && mqtt.fixedHeader().messageType() == MqttMessageType.PUBLISH) {
                    Channel channel = ctx.channel();
                    Backlog backlog = channel.attr(BACKLOG).get();
                    if (backlog == null) {
                        backlog = new Backlog();
                        channel.attr(BACKLOG).set(backlog);
                    }
                    backlog.read++;
                    if (behind(channel, backlog) && channel.config().isAutoRead()) {
                        channel.config().setAutoRead(false);
                        resumeWhenCaughtUp(ctx, backlog, System.nanoTime());
                    }
                }
                super.channelRead(ctx, msg);
            }
        };
    }

    private void resumeWhenCaughtUp(ChannelHandlerContext ctx, Backlog backlog, long pausedAt) {
        ctx.executor().schedule(() -> {
            boolean behind = behind(ctx.channel(), backlog);
            if (behind && ctx.channel().isActive() && System.nanoTime() - pausedAt < MAX_PAUSE_NANOS) {
                resumeWhenCaughtUp(ctx, backlog, pausedAt);
            } else {
                statistics.publisherPaused(!behind);
                ctx.channel().config().setAutoRead(true);
            }
        }, 1, TimeUnit.MILLISECONDS);
    }
}
