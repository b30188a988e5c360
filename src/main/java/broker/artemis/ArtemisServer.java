package broker.artemis;

import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.filter.Filter;
import org.apache.activemq.artemis.core.paging.PagingManager;
import org.apache.activemq.artemis.core.paging.cursor.PageSubscription;
import org.apache.activemq.artemis.core.server.BindingQueryResult;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.impl.ActiveMQServerImpl;
import org.apache.activemq.artemis.core.server.impl.QueueFactoryImpl;
import org.apache.activemq.artemis.spi.core.security.ActiveMQSecurityManager;
import org.apache.activemq.artemis.utils.CompositeAddress;
import org.apache.activemq.artemis.utils.ExecutorFactory;

/**
 * The Artemis server as Firehose runs it: where Artemis' own classes are replaced (the list of every change to Artemis,
 * what each fixes, its test and whether it belongs upstream, is in {@code docs/artemis-changes.md}).
 * <ul>
 *   <li>binding queries find queue names by address, and only when asked ({@link IndexedBindingQuery});</li>
 *   <li>the queue factory gives the MQTT session store its own class ({@link MqttSessionStore}), MQTT subscription
 *       queues their {@link SubscriptionFilter} (their selector parsed once for all, {@link SubscriptionQueues}) and,
 *       with event-loop delivery, every queue a switchable executor ({@link EventLoopDelivery}).</li>
 * </ul>
 */
public final class ArtemisServer extends ActiveMQServerImpl {

    private final EventLoopDelivery eventLoopDelivery;
    private final SubscriptionQueues subscriptions;
    private boolean factoryInstalled;

    /** {@code eventLoopDelivery}: null to keep Artemis' queue executors. */
    ArtemisServer(Configuration config, ActiveMQSecurityManager security, EventLoopDelivery eventLoopDelivery,
                  SubscriptionQueues subscriptions) {
        super(config, security);
        this.eventLoopDelivery = eventLoopDelivery;
        this.subscriptions = subscriptions;
    }

    @Override
    public PagingManager createPagingManager() throws Exception {
        // Artemis has just built its queue factory; it reads its journal (creating queues) after this
        if (!factoryInstalled) {
            factoryInstalled = true;
            ExecutorFactory executors = eventLoopDelivery != null ? eventLoopDelivery.executors(this) : executorFactory;
            replaceQueueFactory(new QueueFactory(executors, this, subscriptions));
        }
        return super.createPagingManager();
    }

    @Override
    public BindingQueryResult bindingQuery(SimpleString address, boolean newFQQN) throws Exception {
        SimpleString real = address == null ? null : CompositeAddress.extractAddressName(address);
        if (real == null || getManagementService() != null && real.equals(getManagementService().getManagementAddress())) {
            return super.bindingQuery(address, newFQQN); // its answer for these involves no search
        }
        return new IndexedBindingQuery(address, newFQQN, getAddressInfo(real), getAddressSettingsRepository().getMatch(real.toString()),
                getPostOffice(), getConfiguration().getWildcardConfiguration());
    }

    private static final class QueueFactory extends QueueFactoryImpl {

        private final SubscriptionQueues subscriptions;

        QueueFactory(ExecutorFactory executors, ActiveMQServerImpl server, SubscriptionQueues subscriptions) {
            super(executors, server.getScheduledPool(), server.getAddressSettingsRepository(), server.getStorageManager(), server);
            this.subscriptions = subscriptions;
        }

        @Override
        public Queue createQueueWith(QueueConfiguration config, PagingManager pagingManager, Filter filter) {
            if (!MqttSessionStore.isStore(config)) {
                return super.createQueueWith(config, pagingManager, subscriptions.filterFor(config, filter));
            }
            PageSubscription pages = getPageSubscription(config, pagingManager, filter);
            if (config.getLastValueKey() == null || config.getLastValueKey().isEmpty()) {
                config.setLastValueKey(Message.HDR_LAST_VALUE_NAME);
            }
            return new MqttSessionStore(config, filter, pages == null ? null : pages.getPagingStore(), pages, scheduledExecutor,
                    postOffice, storageManager, addressSettingsRepository, executorFactory.getExecutor(), server, this);
        }
    }
}
