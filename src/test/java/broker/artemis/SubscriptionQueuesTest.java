package broker.artemis;

import broker.guard.SubscriptionLimits;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.junit.jupiter.api.Test;

class SubscriptionQueuesTest {

    /** Artemis' inherited method parses the filter of every queue being made, once more than Artemis itself does. */
    @Test
    void the_plugin_does_not_parse_the_filter_of_a_queue_being_made() {
        QueueConfiguration unparsable = QueueConfiguration.of("q").setAddress("a").setFilterString("((( not a selector");
        assertDoesNotThrow(() -> new SubscriptionQueues().beforeCreateQueue(unparsable));
    }

    /** A subscription is made with its share of max-queued-messages, not the address' ring size, until the next look. */
    @Test
    void a_subscription_being_made_gets_its_share_of_the_budget_at_once() throws Exception {
        ConfigurationImpl config = new ConfigurationImpl();
        SubscriptionQueues queues = new SubscriptionQueues();
        queues.configure(config, new SubscriptionLimits(0, 0, () -> null), new BacklogBudget(100, 40));
        QueueConfiguration subscription = QueueConfiguration.of("client.a").setAddress("a").setRingSize(100L)
                .setFilterString(SubscriptionFilter.text(config, false));
        queues.beforeCreateQueue(subscription);
        assertEquals(40L, subscription.getRingSize());
    }
}
