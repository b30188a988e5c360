package broker;

import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerAddressPlugin;
import org.apache.activemq.artemis.core.server.impl.AddressInfo;

/**
 * Addresses that Artemis creates for a published MQTT topic are kept in memory only. Storing each new one in the
 * bindings journal delays the delivery of that topic's first message until the write completes, while the
 * publisher's PUBACK does not wait for it: the topic's second message could then reach subscribers first,
 * against MQTT's per-topic order. Nothing is lost by not storing them: a topic's address is created again by
 * its next message, and subscription queues (wildcard addresses, persistent sessions) are still stored.
 */
final class UnstoredTopicAddresses implements ActiveMQServerAddressPlugin {

    @Override
    public void beforeAddAddress(AddressInfo address, boolean reload) {
        String name = address.getName().toString();
        if (!reload && address.isAutoCreated() && !name.startsWith("$sys.") && name.indexOf('#') < 0 && name.indexOf('*') < 0) {
            address.setTemporary(true);
        }
    }
}
