package broker.artemis;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import broker.guard.SubscriptionLimits;
import org.apache.activemq.artemis.api.core.management.ResourceNames;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.management.ManagementService;
import org.apache.activemq.artemis.core.server.management.NotificationListener;
import org.apache.activemq.artemis.spi.core.security.ActiveMQSecurityManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Firehose's changes to Artemis that run inside it: the broker plugins, the server subclass that hands them its
 * factories, and the periodic tasks (the wildcard repair, the backlog budget). Each is listed, with what it fixes, in
 * {@code docs/artemis-changes.md}.
 */
public final class ArtemisPlugins {

    private static final Logger LOG = LoggerFactory.getLogger(ArtemisPlugins.class);

    private final SubscriptionQueues subscriptions = new SubscriptionQueues();
    private final UnstoredTopicAddresses unstoredAddresses = new UnstoredTopicAddresses();
    private final LocalBindingCount localBindings;
    private final BacklogBudget backlogs;
    private final EventLoopDelivery eventLoopDelivery;
    private final SubscriptionLimits limits;
    private final boolean clustered;
    private WildcardBindingRepair wildcardRepair;
    private ScheduledFuture<?> repairTask;
    private ScheduledFuture<?> backlogTask;

    /**
     * @param subscriberBacklog undelivered messages one subscription keeps at most
     * @param maxQueuedMessages undelivered messages all subscriptions keep at most together ({@link BacklogBudget})
     * @param eventLoopDelivery whether subscriptions deliver on their subscriber's event loop ({@link EventLoopDelivery})
     */
    public ArtemisPlugins(long subscriberBacklog, long maxQueuedMessages, boolean eventLoopDelivery, boolean clustered,
                          SubscriptionLimits limits) {
        this.localBindings = new LocalBindingCount(clustered);
        this.backlogs = new BacklogBudget(subscriberBacklog, maxQueuedMessages);
        this.eventLoopDelivery = eventLoopDelivery ? new EventLoopDelivery() : null;
        this.limits = limits;
        this.clustered = clustered;
    }

    /** Registers the plugins on a new configuration. No message plugin: one makes Artemis call plugins several times per delivery. */
    public void register(Configuration config) throws Exception {
        config.registerBrokerPlugin(unstoredAddresses);
        wildcardRepair = new WildcardBindingRepair(config.getWildcardConfiguration());
        config.registerBrokerPlugin(wildcardRepair);
        config.registerBrokerPlugin(localBindings);
        subscriptions.configure(config, limits, backlogs);
        config.registerBrokerPlugin(subscriptions);
        if (eventLoopDelivery != null) {
            config.registerBrokerPlugin(eventLoopDelivery);
        }
    }

    /** The Artemis server with Firehose's queue factory and binding queries ({@link ArtemisServer}). */
    public ActiveMQServer newServer(Configuration config, ActiveMQSecurityManager security) {
        return new ArtemisServer(config, security, eventLoopDelivery, subscriptions);
    }

    /** Called once the server has started: adopts the queues read from the journal and starts the periodic tasks. */
    public void started(ActiveMQServer server) {
        quietManagement(server, clustered);
        subscriptions.adoptExisting(server);
    }

    /** Called once the server is active. */
    public void active(ActiveMQServer server) {
        WildcardBindingRepair repair = wildcardRepair;
        repairTask = server.getScheduledPool().scheduleWithFixedDelay(() -> repair.repair(server.getPostOffice()), 200, 200,
                TimeUnit.MILLISECONDS);
        backlogTask = server.getScheduledPool().scheduleWithFixedDelay(() -> {
            try {
                backlogs.apply(subscriptions.snapshot());
            } catch (RuntimeException e) { // a task that throws is not run again
                LOG.warn("Subscriber backlogs: {}", e.toString());
            }
        }, 1, 1, TimeUnit.SECONDS);
    }

    /** Stops the periodic tasks (before the server stops). */
    public void stopTasks() {
        if (repairTask != null) {
            repairTask.cancel(false);
            repairTask = null;
        }
        if (backlogTask != null) {
            backlogTask.cancel(false);
            backlogTask = null;
        }
    }

    /** Called once the server has stopped: its subscription queues' counts are kept. */
    public void stopped() {
        subscriptions.retireAll();
    }

    /**
     * Artemis builds a notification for every session, consumer and binding made or gone (three per subscriber
     * connecting), hands it to its listeners and routes it as a message to its notification address. Only a cluster
     * uses them: the other nodes learn this one's subscriptions from those messages, and the post office keeps, from
     * them, the list of subscriptions it sends a node that links up. A node on its own sends none. And with JMX
     * management off nothing can listen to the JMX notifications Artemis' broker control makes of each (a {@code Date},
     * the properties as text): the control stops listening, clustered or not.
     */
    static void quietManagement(ActiveMQServer server, boolean clustered) {
        ManagementService management = server.getManagementService();
        if (management.getResource(ResourceNames.BROKER) instanceof NotificationListener control) {
            management.removeNotificationListener(control);
        }
        if (!clustered) {
            management.enableNotifications(false);
        }
    }

    /** The subscription queues live now. */
    public Queue[] subscriptionQueues() {
        return subscriptions.snapshot();
    }

    /** Messages delivered to subscribers since start. */
    public long delivered() {
        return subscriptions.delivered();
    }

    /** Oldest messages dropped from subscribers' full backlogs since start. */
    public long replaced() {
        return subscriptions.replaced();
    }

    /** Undelivered messages each subscription keeps at most now ({@link BacklogBudget}). */
    public long subscriberBacklog() {
        return backlogs.share();
    }

    /** Wildcard subscriptions added to a topic's list that had missed them ({@link WildcardBindingRepair}). */
    public long subscriptionsRepaired() {
        WildcardBindingRepair repair = wildcardRepair;
        return repair == null ? 0 : repair.repaired();
    }
}
