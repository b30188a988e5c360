package gerrit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void delays_double_from_one_second_with_jitter_and_are_capped() {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), new Random(42));
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            delays.add(backoff.next().toMillis());
        }
        assertEquals(1000, delays.get(0), "first retry after 1 s");
        for (int i = 1; i < delays.size(); i++) {
            long ceiling = Math.min(60_000, 1000L << i);
            long delay = delays.get(i);
            assertTrue(delay >= ceiling / 2 && delay <= ceiling, "attempt " + i + ": " + delay + " in [" + ceiling / 2 + ", " + ceiling + "]");
        }
        assertTrue(delays.subList(6, 12).stream().allMatch(d -> d >= 30_000 && d <= 60_000), "capped at 60 s: " + delays);
        assertTrue(delays.subList(6, 12).stream().distinct().count() > 1, "jittered, not in step: " + delays);
    }

    @Test
    void reset_starts_again_from_the_first_delay() {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), new Random(1));
        for (int i = 0; i < 8; i++) {
            backoff.next();
        }
        backoff.reset();
        assertEquals(1000, backoff.next().toMillis());
    }

    @Test
    void a_maximum_below_the_first_delay_means_a_fixed_delay() {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ZERO, new Random(1));
        assertEquals(1000, backoff.next().toMillis());
        assertEquals(1000, backoff.next().toMillis());
    }
}
