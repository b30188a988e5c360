package gerrit;

import java.time.Duration;
import java.util.random.RandomGenerator;

/** Reconnect delays: doubling from {@code initial} up to {@code max}, each drawn in [d/2, d] so servers are not hit in step. */
public final class Backoff {

    private final Duration initial;
    private final Duration max;
    private final RandomGenerator random;
    private int failures;

    public Backoff(Duration initial, Duration max, RandomGenerator random) {
        this.initial = initial;
        this.max = max.compareTo(initial) < 0 ? initial : max;
        this.random = random;
    }

    /** The delay before the next attempt; each call counts one more failure. */
    public Duration next() {
        long ceiling = initial.toMillis() << Math.min(failures, 30);
        if (ceiling <= 0 || ceiling > max.toMillis()) {
            ceiling = max.toMillis();
        }
        failures++;
        long floor = Math.max(initial.toMillis(), ceiling / 2);
        return Duration.ofMillis(floor >= ceiling ? ceiling : random.nextLong(floor, ceiling + 1));
    }

    /** After a connection that worked, start again from {@code initial}. */
    public void reset() {
        failures = 0;
    }
}
