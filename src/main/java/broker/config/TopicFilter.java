package broker.config;

/** An MQTT topic filter ({@code ansible/#}, {@code zuul/+/status}) and the topic names it matches. */
public record TopicFilter(String filter) {

    public TopicFilter {
        String[] levels = filter.split("/", -1);
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            boolean wildcard = level.equals("#") || level.equals("+");
            if (!wildcard && (level.contains("#") || level.contains("+"))
                    || level.equals("#") && i != levels.length - 1) {
                throw new IllegalArgumentException("not a valid MQTT topic filter: '" + filter + "'");
            }
        }
    }

    public static TopicFilter of(String filter) {
        return new TopicFilter(filter.trim());
    }

    public boolean matches(String topic) {
        String[] want = filter.split("/", -1);
        String[] got = topic.split("/", -1);
        // MQTT 4.7.2: a filter starting with a wildcard does not match topics starting with '$'
        if ((want[0].equals("#") || want[0].equals("+")) && topic.startsWith("$")) {
            return false;
        }
        for (int i = 0; i < want.length; i++) {
            if (want[i].equals("#")) {
                return true;
            }
            if (i >= got.length || !want[i].equals("+") && !want[i].equals(got[i])) {
                return false;
            }
        }
        return want.length == got.length;
    }

    @Override
    public String toString() {
        return filter;
    }
}
