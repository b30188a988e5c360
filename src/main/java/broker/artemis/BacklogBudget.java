package broker.artemis;

import broker.observe.MinuteLog;
import java.util.Map;

import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.filter.Filter;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.impl.AckReason;
import org.apache.activemq.artemis.core.server.impl.QueueImpl;
import org.apache.activemq.artemis.selector.filter.Filterable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The subscriptions' backlogs share one budget, {@code firehose.broker.max-queued-messages}: each keeps at most
 * {@code min(subscriber-backlog, max-queued-messages / subscriptions)} undelivered messages. An undelivered message
 * costs a subscription about 80 bytes of heap for its reference alone (the event itself is shared), so with 10,000
 * each some 1,100 stalled subscriptions (persistent sessions away, clients that stopped reading) filled a 768 MiB
 * heap and the broker died of {@code OutOfMemoryError}: any anonymous client could do it with 1,100 client ids.
 * <p>
 * A new subscription gets the share counting itself. Each second the others are brought to the share: when
 * subscriptions came, the longer backlogs are cut to it, oldest messages first, counted as dropped like those a full
 * ring drops; when they went, the share grows back.
 */
public final class BacklogBudget {

    private static final Logger LOG = LoggerFactory.getLogger(BacklogBudget.class);
    private final long backlog;
    private final long budget;
    private final MinuteLog cuts = new MinuteLog();
    private volatile long share;

    BacklogBudget(long backlog, long budget) {
        this.backlog = backlog;
        this.budget = budget;
        this.share = backlog;
    }

    /** The most messages each of {@code subscriptions} subscriptions may keep. */
    long share(int subscriptions) {
        return subscriptions <= 0 ? backlog : Math.max(1, Math.min(backlog, budget / subscriptions));
    }

    /** The share at the last look: what each subscription keeps now. */
    long share() {
        return share;
    }

    /** Brings every subscription's backlog to the share for their number (the broker's scheduler, each second). */
    void apply(Queue[] subscriptions) {
        long target = share(subscriptions.length);
        share = target;
        int cut = 0;
        for (Queue queue : subscriptions) {
            long ring = queue.getRingSize();
            if (ring == target) {
                continue;
            }
            queue.setRingSize(target);
            if ((ring < 0 || target < ring) && cut(queue, target)) {
                cut++;
            }
        }
        long unlogged = cut > 0 ? cuts.happened(cut) : 0;
        if (unlogged > 0) {
            LOG.warn("Subscriber backlogs cut to {} messages each, oldest first ({} backlogs since the last line): {} subscriptions "
                    + "share firehose.broker.max-queued-messages={}", target, unlogged, subscriptions.length, budget);
        }
    }

    /** Drops the oldest messages over {@code keep}; true if there were any. */
    private static boolean cut(Queue queue, long keep) {
        long over = queue.getPendingMessageCount() - keep;
        if (over <= 0) {
            return false;
        }
        try {
            queue.deleteMatchingReferences(QueueImpl.DEFAULT_FLUSH_LIMIT, new Oldest(over), AckReason.REPLACED);
            return true;
        } catch (Exception e) {
            LOG.warn("Could not cut the backlog of {} to {} messages: {}", queue.getName(), keep, e.toString());
            return false;
        }
    }

    /** Matches the first {@code count} messages it is asked about: Artemis asks from a queue's oldest on. */
    private static final class Oldest implements Filter {

        private long left;

        Oldest(long count) {
            this.left = count;
        }

        @Override
        public boolean match(Message message) {
            return left-- > 0;
        }

        @Override
        public boolean match(Map<String, String> map) {
            return false;
        }

        @Override
        public boolean match(Filterable filterable) {
            return false;
        }

        @Override
        public SimpleString getFilterString() {
            return SimpleString.of("the oldest messages");
        }
    }
}
