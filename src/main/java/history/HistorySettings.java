package history;

import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.function.Function;

import broker.config.Secret;

/**
 * The {@code firehose.history.*} properties.
 *
 * @param url JDBC URL of the store; the embedded H2 database under the data directory when none is set
 * @param maxAge how long events are kept
 * @param backlog events the broker keeps for the store while it is unavailable; beyond, the oldest are not recorded
 * @param queryTimeout how long one query may run
 * @param maxStreams {@code GET /events} streams open at most ({@code firehose.events.max-streams})
 */
public record HistorySettings(boolean enabled, String url, String user, String password, Duration maxAge, int backlog,
                              Duration queryTimeout, int maxStreams) {

    public static HistorySettings from(Function<String, Optional<String>> property, Path dataDir) {
        Function<String, String> get = key -> property.apply("firehose.history." + key).map(String::strip).orElse("");
        boolean enabled = !get.apply("enabled").equalsIgnoreCase("false");
        String url = get.apply("url");
        if (url.isEmpty()) {
            // WRITE_DELAY=0: a commit is written at once (H2 waits up to 500 ms by default: a batch the recorder had
            // committed, and acknowledged to the broker, was lost when the process was killed in that time)
            url = "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("history").resolve("events") + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
        } else if (!url.startsWith("jdbc:h2:") && !url.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("firehose.history.url: a jdbc:postgresql: or jdbc:h2: URL, not '" + url + "'");
        }
        Duration maxAge = duration(get.apply("max-age"), "P30D", "firehose.history.max-age");
        Duration queryTimeout = duration(get.apply("query-timeout"), "PT10S", "firehose.history.query-timeout");
        String backlog = get.apply("backlog");
        int events;
        try {
            events = backlog.isEmpty() ? 50_000 : Integer.parseInt(backlog);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("firehose.history.backlog: a number of events, not '" + backlog + "'");
        }
        if (events < 1) {
            throw new IllegalArgumentException("firehose.history.backlog: at least 1 event");
        }
        String streams = property.apply("firehose.events.max-streams").map(String::strip).orElse("");
        int maxStreams;
        try {
            maxStreams = streams.isEmpty() ? 1_000 : Integer.parseInt(streams);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("firehose.events.max-streams: a number of streams, not '" + streams + "'");
        }
        if (maxStreams < 0) {
            throw new IllegalArgumentException("firehose.events.max-streams: 0 (no stream) or more");
        }
        boolean embedded = get.apply("url").isEmpty(); // the embedded H2 has no account: user and password are not read
        return new HistorySettings(enabled, url, embedded ? "" : get.apply("user"), embedded ? "" : Secret.resolve(get.apply("password")),
                maxAge, events, queryTimeout, maxStreams);
    }

    private static Duration duration(String text, String fallback, String key) {
        try {
            Duration value = Duration.parse(text.isEmpty() ? fallback : text);
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(key + ": a positive ISO-8601 duration, not '" + text + "'");
            }
            return value;
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(key + ": an ISO-8601 duration such as P30D or PT12H, not '" + text + "'");
        }
    }

    public boolean postgres() {
        return url.startsWith("jdbc:postgresql:");
    }

    @Override
    public String toString() {
        return (postgres() ? url : "embedded H2") + ", events kept " + (maxAge.toHoursPart() == 0 && maxAge.toMinutesPart() == 0
                && maxAge.toSecondsPart() == 0 ? maxAge.toDays() + " days" : maxAge.toString()); // never the password
    }
}
