package broker.artemis;

import java.util.Map;

import org.apache.activemq.artemis.api.core.FilterConstants;
import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.filter.Filter;
import org.apache.activemq.artemis.reader.MessageUtil;
import org.apache.activemq.artemis.selector.filter.Filterable;

/**
 * The filter Artemis puts on every MQTT subscription queue — "not the management or notification address" and, for
 * subscriptions starting with a wildcard, "not a {@code $} topic" ([MQTT-4.7.2-1]) — decided by comparing the
 * message's address instead of evaluating the selector text. Artemis evaluates a subscription's filter for every
 * message routed to it: with 1,000 subscribers the selector cost a tenth of the broker's CPU.
 * The selector text stays what Artemis wrote, so what it shows and stores is unchanged.
 * <p>
 * A subscription with MQTT 5's No Local option also leaves out the messages its own client publishes. Artemis makes No
 * Local a filter of the subscription's consumer, which leaves those messages in the queue, undelivered: a client
 * talking on a topic it listens to filled its own backlog, and every later delivery to it stepped over them.
 */
public final class SubscriptionFilter implements Filter {

    /** The parsed selector, for what is not decided by address; one for all the queues of a kind. */
    private final Filter selector;
    private final SimpleString management;
    private final SimpleString notifications;
    private final boolean noDollar;
    /** The client whose own messages the subscription leaves out (MQTT 5 No Local), or null. */
    private volatile SimpleString noLocal;

    private SubscriptionFilter(Filter selector, SimpleString management, SimpleString notifications, boolean noDollar) {
        this.selector = selector;
        this.management = management;
        this.notifications = notifications;
        this.noDollar = noDollar;
    }

    /**
     * The selector text Artemis' MQTT protocol writes on a subscription's queue: {@code noDollar} for a subscription
     * starting with a wildcard, which must not match {@code $} topics.
     */
    static SimpleString text(Configuration config, boolean noDollar) {
        SimpleString field = FilterConstants.ACTIVEMQ_ADDRESS;
        String both = "NOT ((" + field + " = '" + config.getManagementAddress() + "') OR (" + field + " = '"
                + config.getManagementNotificationAddress() + "')";
        return SimpleString.of(noDollar ? both + " OR (" + field + " LIKE '$%'))" : both + ")");
    }

    /** The same decision for {@code selector}, when it is one of the two filters Artemis' MQTT protocol writes; else null. */
    static SubscriptionFilter replacing(Filter selector, Configuration config) {
        if (selector == null) {
            return null;
        }
        for (boolean noDollar : new boolean[] {false, true}) {
            if (text(config, noDollar).equals(selector.getFilterString())) {
                return of(selector, noDollar, config);
            }
        }
        return null;
    }

    /** The filter for {@code selector}, the parsed {@link #text} of the same {@code noDollar}. */
    static SubscriptionFilter of(Filter selector, boolean noDollar, Configuration config) {
        return new SubscriptionFilter(selector, config.getManagementAddress(), config.getManagementNotificationAddress(), noDollar);
    }

    @Override
    public boolean match(Message message) {
        SimpleString address = message.getAddressSimpleString();
        if (address == null) {
            return false; // NOT (unknown) is not true
        }
        return !address.equals(management) && !address.equals(notifications) && !(noDollar && address.startsWith('$'))
                && !fromItsOwnClient(message);
    }

    /** Leaves out the messages the client {@code clientId} publishes (null: none left out). */
    void noLocal(SimpleString clientId) {
        noLocal = clientId;
    }

    private boolean fromItsOwnClient(Message message) {
        SimpleString client = noLocal;
        return client != null && client.equals(message.getSimpleStringProperty(MessageUtil.CONNECTION_ID_PROPERTY_NAME));
    }

    @Override
    public boolean match(Map<String, String> map) {
        return selector.match(map);
    }

    @Override
    public boolean match(Filterable filterable) {
        return selector.match(filterable);
    }

    @Override
    public SimpleString getFilterString() {
        return selector.getFilterString();
    }

    @Override
    public String toString() {
        return "SubscriptionFilter [" + selector.getFilterString() + "]";
    }
}
