package broker.artemis;

import broker.guard.SubscriptionLimits;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.activemq.artemis.api.core.ActiveMQException;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.filter.Filter;
import org.apache.activemq.artemis.core.filter.impl.FilterImpl;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.QueueBinding;
import org.apache.activemq.artemis.core.security.SecurityAuth;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.ServerConsumer;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerConsumerPlugin;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerQueuePlugin;
import org.apache.activemq.artemis.reader.MessageUtil;

/**
 * The broker's MQTT subscription queues: each gets a {@link SubscriptionFilter} in place of the selector Artemis
 * evaluates for every message routed to it, and the live ones are listed here so that a check over them does not
 * have to walk every binding of the broker. Their delivery counters, plus those of the queues gone, are the
 * broker's sent and dropped figures: read when asked, instead of counted by a broker plugin at every delivery
 * (with any message plugin registered, Artemis calls into plugins several times per delivery).
 * When a subscription's consumer is made, its MQTT 5 No Local option moves into the queue's filter.
 */
public final class SubscriptionQueues implements ActiveMQServerQueuePlugin, ActiveMQServerConsumerPlugin {

    private volatile Configuration config;
    private volatile SubscriptionLimits limits = new SubscriptionLimits(0, 0, () -> null);
    private volatile BacklogBudget backlogs;
    /**
     * The two selectors Artemis' MQTT protocol writes on subscription queues, parsed once: index 0 for every topic, 1
     * leaving out {@code $} topics (a subscription starting with a wildcard).
     */
    private volatile Filter[] selectors;
    /** A queue being made whose selector Artemis is not to parse: marked before it would, taken by the queue factory. */
    private final ThreadLocal<Unparsed> unparsed = new ThreadLocal<>();
    private final Set<Queue> queues = ConcurrentHashMap.newKeySet();
    private volatile Queue[] array = new Queue[0];
    private volatile boolean changed;
    /** Counters of the queues gone. */
    private long goneAcknowledged;
    private long goneReplaced;
    private long lastDelivered;

    /**
     * The configuration of the broker about to start (the management addresses the MQTT filter names), how many
     * subscriptions it holds at most, and how many messages they keep.
     */
    void configure(Configuration config, SubscriptionLimits limits, BacklogBudget backlogs) throws ActiveMQException {
        this.config = config;
        this.limits = limits;
        this.backlogs = backlogs;
        selectors = new Filter[] {FilterImpl.createFilter(SubscriptionFilter.text(config, false)),
            FilterImpl.createFilter(SubscriptionFilter.text(config, true))};
    }

    /** Adopts the queues the broker loaded from its journal (they were not created through this plugin). */
    void adoptExisting(ActiveMQServer server) {
        for (Binding binding : (Iterable<Binding>) server.getPostOffice().getAllBindings()::iterator) {
            if (binding instanceof QueueBinding queueBinding) {
                adopt(queueBinding.getQueue());
            }
        }
    }

    /** The live queues as an array, copied again only after queues came or went (for sampling by index). */
    Queue[] snapshot() {
        Queue[] copy = array;
        if (changed) {
            changed = false; // before copying: a queue added meanwhile sets it again
            copy = queues.toArray(new Queue[0]);
            array = copy;
        }
        return copy;
    }

    /**
     * Every MQTT subscription queue carries one of two selectors, and Artemis parses the one of each queue it makes
     * (a twentieth of a subscribe's time), to be replaced by a {@link SubscriptionFilter} straight after. Its text is
     * taken out of the queue's configuration here, just before Artemis would parse it, and handed back, with the
     * filter, by {@link #filterFor} when the queue factory makes the queue (the same thread, in the same call):
     * the queue has its filter from its first moment, and stores its selector text as before. The inherited method
     * would turn the configuration into the old {@code QueueConfig}, parsing the selector once more.
     */
    @Override
    public void beforeCreateQueue(QueueConfiguration queue) throws ActiveMQException {
        Filter[] known = selectors;
        SimpleString text = queue.getFilterString();
        if (known == null || text == null) {
            return;
        }
        for (int kind = 0; kind < known.length; kind++) {
            if (known[kind].getFilterString().equals(text)) {
                limits.admit(queue.getName(), queue.getAddress());
                queue.setRingSize(backlogs.share(queues.size() + 1));
                queue.setFilterString((SimpleString) null);
                unparsed.set(new Unparsed(queue, kind));
                return;
            }
        }
    }

    /**
     * The filter of a queue the factory makes: a {@link SubscriptionFilter} with the selector parsed once for all when
     * {@link #beforeCreateQueue} took the queue's selector text (which goes back into its configuration), else
     * {@code parsed}, Artemis' own.
     */
    Filter filterFor(QueueConfiguration queue, Filter parsed) {
        Unparsed pending = unparsed.get();
        if (pending == null || pending.config() != queue) {
            return parsed;
        }
        unparsed.remove();
        queue.setFilterString(selectors[pending.kind()].getFilterString());
        return SubscriptionFilter.of(selectors[pending.kind()], pending.kind() == 1, config);
    }

    private record Unparsed(QueueConfiguration config, int kind) {
    }

    @Override
    public void afterCreateQueue(Queue queue) {
        adopt(queue);
    }

    /**
     * A subscription's consumer is made at each SUBSCRIBE and reconnect; Artemis writes No Local as its filter
     * {@code __AMQ_CID <> 'client id'}. The queue's filter then takes that client's messages out instead.
     */
    @Override
    public void afterCreateConsumer(ServerConsumer consumer) {
        if (consumer.getQueue() != null && consumer.getQueue().getFilter() instanceof SubscriptionFilter filter) {
            String client = consumer.getConnectionClientID();
            Filter own = consumer.getFilter();
            boolean noLocal = client != null && own != null
                    && own.getFilterString().toString().equals(MessageUtil.CONNECTION_ID_PROPERTY_NAME_STRING + " <> '" + client + "'");
            filter.noLocal(noLocal ? SimpleString.of(client) : null);
        }
    }

    @Override
    public void afterDestroyQueue(Queue queue, SimpleString address, SecurityAuth session, boolean checkConsumerCount,
                                  boolean removeConsumers, boolean autoDeleteAddress) {
        retire(queue);
    }

    /** The broker stopped: its queues count as gone (they are not destroyed one by one). */
    void retireAll() {
        queues.forEach(this::retire);
        limits.clear();
    }

    /**
     * Messages delivered to subscribers since start (QoS 1: on their way or acknowledged). The figure never goes
     * down, though a message moving from delivering to acknowledged while it is read could make it dip by one.
     */
    synchronized long delivered() {
        long total = goneAcknowledged;
        for (Queue queue : queues) {
            total += queue.getDeliveringCount() + queue.getMessagesAcknowledged();
        }
        lastDelivered = Math.max(lastDelivered, total);
        return lastDelivered;
    }

    /** Oldest messages dropped from a full subscriber backlog (ring queue), since start. */
    synchronized long replaced() {
        long total = goneReplaced;
        for (Queue queue : queues) {
            total += queue.getMessagesReplaced();
        }
        return total;
    }

    private synchronized void retire(Queue queue) {
        if (queues.remove(queue)) {
            changed = true;
            limits.removed(queue.getName(), queue.getAddress());
            goneAcknowledged += queue.getMessagesAcknowledged();
            goneReplaced += queue.getMessagesReplaced();
        }
    }

    private void adopt(Queue queue) {
        if (queue.isInternalQueue()) {
            return;
        }
        if (!(queue.getFilter() instanceof SubscriptionFilter)) {
            SubscriptionFilter filter = SubscriptionFilter.replacing(queue.getFilter(), config);
            if (filter == null) {
                return;
            }
            queue.setFilter(filter);
        }
        if (queues.add(queue)) {
            changed = true;
            limits.added(queue.getName(), queue.getAddress());
        }
    }
}
