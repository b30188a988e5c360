package broker;

import java.util.Collection;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.QueueBinding;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.security.SecurityAuth;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerQueuePlugin;

/**
 * The broker's MQTT subscription queues: each gets a {@link SubscriptionFilter} in place of the selector Artemis
 * evaluates for every message routed to it, and the live ones are listed here so that a check over them does not
 * have to walk every binding of the broker.
 */
final class SubscriptionQueues implements ActiveMQServerQueuePlugin {

    private final Configuration config;
    private final Set<Queue> queues = ConcurrentHashMap.newKeySet();

    SubscriptionQueues(Configuration config) {
        this.config = config;
    }

    /** Adopts the queues the broker loaded from its journal (they were not created through this plugin). */
    void adoptExisting(ActiveMQServer server) {
        for (Binding binding : (Iterable<Binding>) server.getPostOffice().getAllBindings()::iterator) {
            if (binding instanceof QueueBinding queueBinding) {
                adopt(queueBinding.getQueue());
            }
        }
    }

    /** The subscription queues now live (a view; it changes as clients come and go). */
    Collection<Queue> live() {
        return Collections.unmodifiableSet(queues);
    }

    @Override
    public void afterCreateQueue(Queue queue) {
        adopt(queue);
    }

    @Override
    public void afterDestroyQueue(Queue queue, SimpleString address, SecurityAuth session, boolean checkConsumerCount,
                                  boolean removeConsumers, boolean autoDeleteAddress) {
        queues.remove(queue);
    }

    private void adopt(Queue queue) {
        if (queue.isInternalQueue() || queue.getFilter() instanceof SubscriptionFilter) {
            return;
        }
        SubscriptionFilter filter = SubscriptionFilter.replacing(queue.getFilter(), config);
        if (filter != null) {
            queue.setFilter(filter);
            queues.add(queue);
        }
    }
}
