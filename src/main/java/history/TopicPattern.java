package history;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Predicate;

import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.WildcardConfiguration;
import org.apache.activemq.artemis.core.postoffice.impl.AddressMap;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTUtil;

/**
 * An MQTT topic filter of a history query, checked as MQTT requires ({@code #} alone and last, {@code +} a whole
 * level), and turned into what the store can use: the range of topics its literal start allows (an index range)
 * and a {@code LIKE} pattern that narrows further. Which events match in the end is decided by the broker's own
 * matcher (Artemis' address map), as for a subscription.
 */
public record TopicPattern(String filter) {

    /** Characters of a topic the store's index holds. */
    public static final int KEY_LENGTH = 256;

    static TopicPattern parse(String filter) {
        if (filter.isEmpty()) {
            throw new HistoryQuery.BadParameter("topic: an empty filter");
        }
        if (filter.getBytes(StandardCharsets.UTF_8).length > 65_535) {
            throw new HistoryQuery.BadParameter("topic: longer than MQTT's 65,535 bytes");
        }
        String[] levels = filter.split("/", -1);
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            if (level.indexOf('#') >= 0 && (!level.equals("#") || i != levels.length - 1)) {
                throw new HistoryQuery.BadParameter("topic: '#' must be a whole level and the last one, in '" + HistoryQuery.printable(filter) + "'");
            }
            if (level.indexOf('+') >= 0 && !level.equals("+")) {
                throw new HistoryQuery.BadParameter("topic: '+' must be a whole level, in '" + HistoryQuery.printable(filter) + "' (write a space as %20)");
            }
        }
        for (int i = 0; i < filter.length(); i++) {
            char c = filter.charAt(i);
            if (c == 0 || Character.isSurrogate(c) && !(Character.isHighSurrogate(c) && i + 1 < filter.length()
                    && Character.isLowSurrogate(filter.charAt(++i)))) {
                throw new HistoryQuery.BadParameter("topic: a character MQTT does not allow in a topic filter");
            }
        }
        return new TopicPattern(filter);
    }

    /** Whether this is a plain topic, without wildcards. */
    public boolean exact() {
        return filter.indexOf('#') < 0 && filter.indexOf('+') < 0;
    }

    /** Whether every recorded event matches ({@code #}). */
    public boolean everything() {
        return filter.equals("#");
    }

    /**
     * The literal start of the filter, up to its first wildcard level; the empty string when it starts with one. Every
     * matching topic starts with it, or, for a filter ending in {@code /#}, is it without its last {@code /}.
     */
    public String prefix() {
        int plus = filter.startsWith("+") ? 0 : filter.indexOf("/+");
        int hash = filter.startsWith("#") ? 0 : filter.indexOf("/#");
        int end = plus < 0 ? hash : hash < 0 ? plus : Math.min(plus, hash);
        return end < 0 ? filter : filter.substring(0, end);
    }

    /** A {@code LIKE} pattern (escape character {@code \}) every matching topic matches. */
    public String like() {
        StringBuilder like = new StringBuilder();
        String body = filter.endsWith("/#") ? filter.substring(0, filter.length() - 2) : filter;
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            switch (c) {
                case '%', '_', '\\' -> like.append('\\').append(c);
                case '+', '#' -> like.append('%');
                default -> like.append(c);
            }
        }
        if (filter.endsWith("/#")) {
            like.append('%'); // the parent level itself, or below it
        }
        return like.toString();
    }

    /** The broker's own matching of a topic against this filter. */
    public Predicate<String> matcher(WildcardConfiguration wildcards) {
        return matcher(List.of(this), wildcards);
    }

    /**
     * Whether a topic matches any of {@code patterns}, decided as the broker routes a message to subscriptions: by
     * Artemis' address map of their (core) addresses, which keeps a topic's own {@code .} and {@code \} apart from
     * its levels.
     */
    public static Predicate<String> matcher(List<TopicPattern> patterns, WildcardConfiguration wildcards) {
        if (patterns.stream().anyMatch(TopicPattern::everything)) {
            return topic -> true;
        }
        AddressMap<TopicPattern> map = new AddressMap<>(wildcards.getAnyWordsString(), wildcards.getSingleWordString(), wildcards.getDelimiter());
        for (TopicPattern pattern : patterns) {
            map.put(SimpleString.of(MQTTUtil.getCoreAddressFromMqttTopic(pattern.filter(), wildcards)), pattern);
        }
        return topic -> {
            boolean[] matched = {false};
            try {
                map.visitMatchingWildcards(SimpleString.of(MQTTUtil.getCoreAddressFromMqttTopic(topic, wildcards)), pattern -> matched[0] = true);
            } catch (Exception e) {
                throw new IllegalStateException("matching '" + topic + "'", e);
            }
            return matched[0];
        };
    }

    /**
     * The MQTT topic of a core address Artemis made of it: each {@code /} became {@code .}, a topic's own {@code .} and
     * {@code \} were escaped with {@code \}. (Artemis' own inverse doubles each backslash twice over.)
     */
    public static String mqttTopic(String coreAddress, WildcardConfiguration wildcards) {
        StringBuilder topic = new StringBuilder(coreAddress.length());
        for (int i = 0; i < coreAddress.length(); i++) {
            char c = coreAddress.charAt(i);
            if (c == '\\' && i + 1 < coreAddress.length()) {
                topic.append(coreAddress.charAt(++i));
            } else {
                topic.append(c == wildcards.getDelimiter() ? '/' : c);
            }
        }
        return topic.toString();
    }

    /** The part of a topic the store's index holds. */
    public static String key(String topic) {
        return topic.length() <= KEY_LENGTH ? topic : topic.substring(0, KEY_LENGTH);
    }
}
