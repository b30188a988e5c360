package broker;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.util.AttributeKey;
import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.QueueBinding;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyServerConnection;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.ServerSession;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerMessagePlugin;
import org.apache.activemq.artemis.core.transaction.Transaction;
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
public final class PublisherBackPressure implements ActiveMQServerMessagePlugin {

    private static final AttributeKey<Backlog> BACKLOG = AttributeKey.valueOf("firehose.publish-backlog");
    private static final long MAX_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final int mark;
    private volatile ActiveMQServer server;
    private volatile boolean fanOutBehind;
    private ScheduledFuture<?> check;

    /** Publishes of one connection: read from its socket, and handed to routing. */
    private static final class Backlog {
        final AtomicLong read = new AtomicLong();
        final AtomicLong routed = new AtomicLong();

        long pending() {
            return read.get() - routed.get();
        }
    }

    public PublisherBackPressure(int mark) {
        this.mark = mark;
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

    private void checkFanOut() {
        try {
            int active = 0;
            int late = 0;
            for (Binding binding : (Iterable<Binding>) server.getPostOffice().getAllBindings()::iterator) {
                if (binding instanceof QueueBinding queueBinding) {
                    Queue queue = queueBinding.getQueue();
                    if (!queue.isInternalQueue() && queue.getConsumerCount() > 0) {
                        active++;
                        if (queue.getMessageCount() > mark) {
                            late++;
                        }
                    }
                }
            }
            fanOutBehind = active > 0 && late * 2 > active;
        } catch (RuntimeException e) {
            fanOutBehind = false; // never keep publishers paused on a failed check
        }
    }

    @Override
    public void beforeSend(ServerSession session, Transaction tx, Message message, boolean direct, boolean noAutoCreateQueue) {
        RemotingConnection connection = session.getRemotingConnection();
        if (connection != null && connection.getTransportConnection() instanceof NettyServerConnection netty) {
            Backlog backlog = netty.getChannel().attr(BACKLOG).get();
            if (backlog != null) {
                backlog.routed.incrementAndGet();
            }
        }
    }

    private boolean behind(Backlog backlog) {
        return fanOutBehind || backlog.pending() > mark;
    }

    /** A pipeline handler, after the MQTT decoder: counts the publishes read, and pauses reading while behind. */
    public ChannelInboundHandlerAdapter handler() {
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
                    backlog.read.incrementAndGet();
                    if (behind(backlog) && channel.config().isAutoRead()) {
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
            if (behind(backlog) && ctx.channel().isActive() && System.nanoTime() - pausedAt < MAX_PAUSE_NANOS) {
                resumeWhenCaughtUp(ctx, backlog, pausedAt);
            } else {
                ctx.channel().config().setAutoRead(true);
            }
        }, 1, TimeUnit.MILLISECONDS);
    }
}
