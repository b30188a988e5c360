package broker;

import java.util.concurrent.atomic.LongAdder;

import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.core.postoffice.RoutingStatus;
import org.apache.activemq.artemis.core.server.MessageReference;
import org.apache.activemq.artemis.core.server.ServerConsumer;
import org.apache.activemq.artemis.core.server.ServerSession;
import org.apache.activemq.artemis.core.server.impl.AckReason;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerMessagePlugin;
import org.apache.activemq.artemis.core.transaction.Transaction;

/**
 * Message counters the broker keeps as it works, the figures behind {@code $SYS/broker/...}
 * and {@code /observe/metrics}.
 */
public final class BrokerStatistics implements ActiveMQServerMessagePlugin {

    private final LongAdder received = new LongAdder();
    private final LongAdder sent = new LongAdder();
    private final LongAdder dropped = new LongAdder();

    @Override
    public void afterSend(ServerSession session, Transaction tx, Message message, boolean direct,
                          boolean noAutoCreateQueue, RoutingStatus result) {
        received.increment();
    }

    @Override
    public void afterDeliver(ServerConsumer consumer, MessageReference reference) {
        sent.increment();
    }

    @Override
    public void messageAcknowledged(Transaction tx, MessageReference ref, AckReason reason, ServerConsumer consumer) {
        // a full subscriber backlog (ring queue) makes room by acknowledging its oldest message
        if (reason == AckReason.REPLACED) {
            dropped.increment();
        }
    }

    /** PUBLISH packets accepted from clients. */
    public long messagesReceived() {
        return received.sum();
    }

    /** Messages handed to subscribers. */
    public long messagesSent() {
        return sent.sum();
    }

    /** Oldest messages dropped from a subscriber's full backlog. */
    public long messagesDropped() {
        return dropped.sum();
    }
}
