package broker.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class MinuteLogTest {

    private static final long SECOND = 1_000_000_000L;

    @Test
    void one_line_a_minute_saying_how_many_happened_since_the_last() {
        AtomicLong now = new AtomicLong(5 * SECOND);
        MinuteLog log = new MinuteLog(now::get);
        assertEquals(1, log.happened(), "the first is logged at once");
        assertEquals(0, log.happened());
        now.addAndGet(59 * SECOND);
        assertEquals(0, log.happened(3), "within the minute: counted, not logged");
        now.addAndGet(SECOND);
        assertEquals(5, log.happened(), "a minute on: one line for the four held back and this one");
        assertEquals(0, log.happened());
        now.addAndGet(3600 * SECOND);
        assertEquals(2, log.happened(), "the one held back, and this one");
    }
}
