package broker.artemis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;

import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.filter.Filter;
import org.apache.activemq.artemis.core.filter.impl.FilterImpl;
import org.apache.activemq.artemis.core.message.impl.CoreMessage;
import org.junit.jupiter.api.Test;

/** The address comparison decides as Artemis' selector text does, for every kind of address. */
class SubscriptionFilterTest {

    private static final ConfigurationImpl CONFIG = new ConfigurationImpl();
    private static final String BOTH = "NOT ((AMQAddress = 'activemq.management') OR (AMQAddress = 'activemq.notifications')";
    private static final List<String> ADDRESSES = List.of("gerrit.openstack.nova.patchset-created", "activemq.management",
            "activemq.notifications", "activemq.notifications.x", "$sys.broker.uptime", "$SYS", "a$b", "activemq", "x", "");

    @Test
    void decides_like_the_selector_artemis_writes_for_plain_subscriptions() throws Exception {
        sameDecisions(BOTH + ")");
    }

    @Test
    void decides_like_the_selector_artemis_writes_for_subscriptions_that_start_with_a_wildcard() throws Exception {
        sameDecisions(BOTH + " OR (AMQAddress LIKE '$%'))");
    }

    @Test
    void leaves_any_other_filter_alone() throws Exception {
        assertNull(SubscriptionFilter.replacing(null, CONFIG));
        assertNull(SubscriptionFilter.replacing(FilterImpl.createFilter("__AMQ_CID <> 'client-1'"), CONFIG), "MQTT 5 no-local");
        assertNull(SubscriptionFilter.replacing(FilterImpl.createFilter(BOTH + " OR (AMQAddress LIKE '#%'))"), CONFIG));
    }

    private static void sameDecisions(String text) throws Exception {
        Filter selector = FilterImpl.createFilter(text);
        Filter fast = assertInstanceOf(SubscriptionFilter.class, SubscriptionFilter.replacing(selector, CONFIG));
        assertEquals(selector.getFilterString(), fast.getFilterString());
        for (String address : ADDRESSES) {
            CoreMessage message = new CoreMessage(1, 64);
            message.setAddress(SimpleString.of(address));
            assertEquals(selector.match(message), fast.match(message), address);
        }
        assertEquals(selector.match(new CoreMessage(1, 64)), fast.match(new CoreMessage(1, 64)), "no address");
    }
}
