package publish;

import java.util.StringJoiner;

/**
 * Topic names built from event data: the one place where levels are encoded and joined.
 * A level never carries {@code +}, {@code #} or NUL, which would turn it into a wildcard or break it.
 */
public final class Topic {

    /** Header that carries the topic of an event on its way to {@code direct:publish}. */
    public static final String HEADER = "FirehoseTopic";

    private Topic() {
    }

    /** Percent-encodes {@code %}, {@code +}, {@code #} and NUL; slashes stay, so one value may span levels. */
    public static String level(String raw) {
        StringBuilder out = new StringBuilder(raw.length() + 8);
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            switch (c) {
                case '%' -> out.append("%25");
                case '+' -> out.append("%2B");
                case '#' -> out.append("%23");
                case '\0' -> out.append("%00");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** {@code base/level1/level2/...}, cut at the first missing (null or empty) level. */
    public static String of(String base, String... levels) {
        StringJoiner topic = new StringJoiner("/").add(base);
        for (String level : levels) {
            if (level == null || level.isEmpty()) {
                break;
            }
            topic.add(level(level));
        }
        return topic.toString();
    }
}
