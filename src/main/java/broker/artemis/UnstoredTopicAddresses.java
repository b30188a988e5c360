package broker.artemis;

import org.apache.activemq.artemis.core.server.impl.AddressInfo;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerAddressPlugin;

/**
 * Addresses that Artemis creates for a published MQTT topic are kept in memory only. Storing each new one in the
 * bindings journal delays the delivery of that topic's first message until the write completes, while the
 * publisher's PUBACK does not wait for it: the topic's second message could then reach subscribers first,
 * against MQTT's per-topic order. Nothing is lost by not storing them: a topic's address is created again by
 * its next message, and subscription queues (wildcard addresses, persistent sessions) are still stored.
 *
 * <p>Artemis leaves out of the journal an address marked temporary, so the mark is set before the address is added;
 * it is taken off once added, for a temporary address is also removed when the connection that made it closes, and
 * that raced another client's SUBSCRIBE to the same topic (Artemis found the address it had just made gone, threw,
 * logged an ERROR with a stack trace and refused the subscription). The address then goes as any auto-created one:
 * by Artemis' reaper, with no subscription and older than {@code EmbeddedBroker.ADDRESS_LINGER_MS}.
 */
public final class UnstoredTopicAddresses implements ActiveMQServerAddressPlugin {

    /** The address this thread marked and is adding (Artemis calls both hooks on one thread, the post office locked). */
    private final ThreadLocal<AddressInfo> marked = new ThreadLocal<>();

    @Override
    public void beforeAddAddress(AddressInfo address, boolean reload) {
        String name = address.getName().toString();
        if (!reload && address.isAutoCreated() && !address.isTemporary() && !name.startsWith("$sys.") && name.indexOf('#') < 0
                && name.indexOf('*') < 0) {
            address.setTemporary(true);
            marked.set(address);
        } else {
            marked.remove();
        }
    }

    @Override
    public void afterAddAddress(AddressInfo address, boolean reload) {
        if (marked.get() == address) {
            marked.remove();
            address.setTemporary(false);
        }
    }
}
