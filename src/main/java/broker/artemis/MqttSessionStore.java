package broker.artemis;

import java.util.Collection;
import java.util.concurrent.ScheduledExecutorService;

import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.filter.Filter;
import org.apache.activemq.artemis.core.paging.PagingStore;
import org.apache.activemq.artemis.core.paging.cursor.PageSubscription;
import org.apache.activemq.artemis.core.persistence.StorageManager;
import org.apache.activemq.artemis.core.postoffice.PostOffice;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTSessionState;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTStateManager;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTUtil;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.QueueFactory;
import org.apache.activemq.artemis.core.server.RoutingContext;
import org.apache.activemq.artemis.core.server.impl.LastValueQueue;
import org.apache.activemq.artemis.core.settings.HierarchicalRepository;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.activemq.artemis.utils.actors.ArtemisExecutor;

/**
 * Artemis' MQTT session store ({@code $sys.mqtt.sessions}, a last-value queue of one record per client) keeping only
 * sessions that can outlive their connection. Artemis journals a record for every client that subscribes, clean
 * sessions included, although MQTT 3.1.1 says a clean session's state must not outlive the connection
 * [MQTT-3.1.2-6], and it pays for each with work proportional to all the records: every record added makes the
 * queue walk all of them (it has no consumer, so each delivery attempt prunes), and every clean client leaving
 * deletes its record by evaluating a selector against all of them. A reconnect storm of N clean subscribers cost
 * O(N²), a disconnect storm too, and the next start read back every record of clients long gone. Records of MQTT
 * 3.x clean sessions (their subscription queues are not durable) are not stored here; everything else is. Such a
 * session's subscription manager no longer makes its records at all ({@code UnstoredSubscriptions} in
 * {@code BoundedMQTTProtocolManagerFactory}); this store stays the rule for any record that still comes.
 */
public final class MqttSessionStore extends LastValueQueue {

    private final ActiveMQServer server;

    MqttSessionStore(QueueConfiguration config, Filter filter, PagingStore pagingStore, PageSubscription pageSubscription,
                     ScheduledExecutorService scheduledExecutor, PostOffice postOffice, StorageManager storageManager,
                     HierarchicalRepository<AddressSettings> addressSettings, ArtemisExecutor executor, ActiveMQServer server,
                     QueueFactory factory) {
        super(config, filter, pagingStore, pageSubscription, scheduledExecutor, postOffice, storageManager, addressSettings,
                executor, server, factory);
        this.server = server;
    }

    static boolean isStore(QueueConfiguration config) {
        return SimpleString.of(MQTTUtil.MQTT_SESSION_STORE).equals(config.getName());
    }

    @Override
    public void route(Message message, RoutingContext context) throws Exception {
        if (!ofCleanSession(message)) {
            super.route(message, context);
        }
    }

    /** Whether a session record is that of an MQTT 3.x clean session: it has subscriptions, each on a non-durable queue. */
    private boolean ofCleanSession(Message record) throws Exception {
        String clientId = record.getStringProperty(Message.HDR_LAST_VALUE_NAME);
        if (clientId == null) {
            return false;
        }
        MQTTStateManager states = MQTTStateManager.getInstance(server);
        if (!states.isClientConnected(clientId)) {
            return false; // no session being stored right now: leave it to Artemis
        }
        MQTTSessionState state = states.getSessionState(clientId);
        Collection<MqttTopicSubscription> subscriptions = state.getSubscriptions();
        if (subscriptions.isEmpty()) {
            return false;
        }
        for (MqttTopicSubscription subscription : subscriptions) {
            Queue queue = server.locateQueue(MQTTUtil.getCoreQueueFromMqttTopic(subscription.topicFilter(), clientId,
                    server.getConfiguration().getWildcardConfiguration()));
            if (queue == null || queue.isDurable()) {
                return false;
            }
        }
        return true;
    }
}
