package history;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What an operator sees of the history on the management port: the {@code history} check of {@code /observe/health}
 * and the {@code firehose_history_*} metrics of {@code /observe/metrics}. While nothing answers, an empty answer rather
 * than an exception, for {@code Await}.
 */
final class HistoryHealth {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private HistoryHealth() {
    }

    /** The {@code history} check with its details ({@code data}); a missing node while nothing answers. */
    static JsonNode check(String managementUrl) {
        try {
            JsonNode health = HistoryClient.JSON.readTree(get(managementUrl + "/observe/health?data=true"));
            for (JsonNode check : health.path("checks")) {
                if ("history".equals(check.path("name").asText())) {
                    return check;
                }
            }
            throw new AssertionError("no history check in " + health);
        } catch (IOException e) {
            return HistoryClient.JSON.missingNode();
        }
    }

    /** The {@code history} check's status: UP, DOWN, or empty while nothing answers. */
    static String status(String managementUrl) {
        return check(managementUrl).path("status").asText();
    }

    /** A metric without labels; NaN while it is absent or nothing answers. */
    static double metric(String managementUrl, String name) {
        try {
            Matcher value = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*\\})? (\\S+)$")
                    .matcher(get(managementUrl + "/observe/metrics"));
            return value.find() ? Double.parseDouble(value.group(1)) : Double.NaN;
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    private static String get(String url) throws IOException {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
