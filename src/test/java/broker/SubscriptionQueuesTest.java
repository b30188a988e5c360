package broker;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.junit.jupiter.api.Test;

class SubscriptionQueuesTest {

    /** Artemis' inherited method parses the filter of every queue being made, once more than Artemis itself does. */
    @Test
    void the_plugin_does_not_parse_the_filter_of_a_queue_being_made() {
        QueueConfiguration unparsable = QueueConfiguration.of("q").setAddress("a").setFilterString("((( not a selector");
        assertDoesNotThrow(() -> new SubscriptionQueues().beforeCreateQueue(unparsable));
    }
}
