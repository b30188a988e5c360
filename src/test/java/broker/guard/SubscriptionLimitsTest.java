package broker.guard;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.activemq.artemis.api.core.ActiveMQSecurityException;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.junit.jupiter.api.Test;

/** The queue-level count behind the limits: what the queue factory refuses when two connections of a client race. */
class SubscriptionLimitsTest {

    @Test
    void queues_are_counted_by_their_client_and_the_factory_refuses_past_a_limit() {
        SubscriptionLimits limits = new SubscriptionLimits(2, 3, () -> null);
        limits.added(SimpleString.of("a.b.ansible.x"), SimpleString.of("ansible.x")); // client id "a.b"
        limits.added(SimpleString.of("a.b.ansible.y"), SimpleString.of("ansible.y"));
        limits.added(SimpleString.of("notif.1"), SimpleString.of("activemq.notifications")); // not a subscription
        assertEquals(2, limits.held("a.b"));
        assertThrows(ActiveMQSecurityException.class, () -> limits.admit(SimpleString.of("a.b.ansible.z"), SimpleString.of("ansible.z")));
        assertDoesNotThrow(() -> limits.admit(SimpleString.of("c.ansible.z"), SimpleString.of("ansible.z")));
        limits.added(SimpleString.of("c.ansible.z"), SimpleString.of("ansible.z"));
        assertThrows(ActiveMQSecurityException.class, () -> limits.admit(SimpleString.of("d.ansible.z"), SimpleString.of("ansible.z")),
                "three held: the total limit");
        limits.removed(SimpleString.of("a.b.ansible.x"), SimpleString.of("ansible.x"));
        assertEquals(1, limits.held("a.b"));
        assertDoesNotThrow(() -> limits.admit(SimpleString.of("a.b.ansible.z"), SimpleString.of("ansible.z")));
        assertEquals(1, limits.refused(SubscriptionLimits.PER_CLIENT));
        assertEquals(1, limits.refused(SubscriptionLimits.TOTAL));
    }
}
