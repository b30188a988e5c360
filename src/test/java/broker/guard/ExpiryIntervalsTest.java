package broker.guard;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ExpiryIntervalsTest {

    @Test
    void a_session_limit_artemis_cannot_hold_is_refused_by_name() {
        assertDoesNotThrow(() -> new ExpiryIntervals(2_147_483));
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> new ExpiryIntervals(2_147_484));
        assertTrue(refused.getMessage().contains("firehose.broker.session-expiry"), refused.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ExpiryIntervals(-1));
    }
}
