package broker.events;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Event ids, given where an event enters the bus and carried with it to every node: 22 lower-case hex digits, the
 * first 16 the time the event was received (ms since the epoch, shifted left 22 bits) plus a sequence within that
 * millisecond, the last 6 the node that received it (drawn at random when the broker starts). Ids of one node are strictly increasing, so ids sort (as strings)
 * in arrival order; ids of different nodes sort by their arrival time, then sequence, then node.
 */
public final class EventIds {

    /** Length of every id. */
    public static final int LENGTH = 22;
    private static final int SEQUENCE_BITS = 22;
    private static final HexFormat HEX = HexFormat.of();

    private final AtomicLong last = new AtomicLong();
    /** Drawn at each start: two nodes, or one node before and after a restart with its clock set back, never share ids. */
    private final String node = HEX.toHexDigits(new SecureRandom().nextInt(1 << 24)).substring(2);

    /** The next id, received now. */
    public String next() {
        long now = System.currentTimeMillis() << SEQUENCE_BITS;
        long stamp = last.updateAndGet(previous -> Math.max(previous + 1, now));
        return HEX.toHexDigits(stamp) + node;
    }

    /** The id of an event that entered without one (an MQTT will): the same on every node that derives it. */
    public static String derived(long receivedMillis, String origin) {
        return HEX.toHexDigits(receivedMillis << SEQUENCE_BITS | (origin.hashCode() & ((1L << SEQUENCE_BITS) - 1))) + tag("will:" + origin);
    }

    /** When the event of a well-formed id was received (ms since the epoch). */
    public static long receivedMillis(String id) {
        return HexFormat.fromHexDigitsToLong(id, 0, 16) >>> SEQUENCE_BITS;
    }

    /** Whether {@code text} has the form of an id. */
    public static boolean wellFormed(String text) {
        if (text == null || text.length() != LENGTH) {
            return false;
        }
        for (int i = 0; i < LENGTH; i++) {
            char c = text.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    /** The lowest id an event received at or after {@code millis} can have. */
    public static String lowestAt(long millis) {
        return HEX.toHexDigits(Math.max(0, millis) << SEQUENCE_BITS) + "000000";
    }

    private static String tag(String name) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return HEX.formatHex(digest, 0, 3);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
