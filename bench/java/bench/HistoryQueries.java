package bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Times {@code GET /history} queries from a client: each query {@code --requests} times in a row (after
 * {@code --warmup} untimed ones), one request at a time over one HTTP/1.1 connection, from sending the request to
 * having read the whole body. Every answer must be 200. A query's text may hold {@code {after}}: each request then
 * gets a cursor of its own, the lowest id of a random instant between the oldest recorded event and a day before the
 * newest (so that a page after it is full), as a client resuming from where it stopped would send.
 *
 * <pre>
 * java bench.HistoryQueries --base http://127.0.0.1:8080 --label h2 [--requests 200] [--warmup 20] \
 *      name='topic=gerrit/openstack/nova/%23&amp;limit=100' ...
 * </pre>
 * One {@code RESULT {json}} line per query: p50, p99, max in ms, events and bytes per answer.
 */
public final class HistoryQueries {

    private static final Pattern ID = Pattern.compile("\"id\":\"([0-9a-f]{22})\"");

    public static void main(String[] argv) throws Exception {
        Map<String, String> options = new HashMap<>();
        Map<String, String> queries = new LinkedHashMap<>();
        for (int i = 0; i < argv.length; i++) {
            if (argv[i].startsWith("--") && i + 1 < argv.length) {
                options.put(argv[i].substring(2), argv[++i]);
            } else {
                int eq = argv[i].indexOf('=');
                queries.put(argv[i].substring(0, eq), argv[i].substring(eq + 1));
            }
        }
        String base = options.getOrDefault("base", "http://127.0.0.1:8080");
        int requests = Integer.parseInt(options.getOrDefault("requests", "200"));
        int warmup = Integer.parseInt(options.getOrDefault("warmup", "20"));
        String label = options.getOrDefault("label", "");
        double budget = Double.parseDouble(options.getOrDefault("budget", "45"));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

        long oldest = received(first(client, base + "/history?order=asc&limit=1"));
        long newest = received(first(client, base + "/history?order=desc&limit=1"));
        SplittableRandom random = new SplittableRandom(7);
        for (Map.Entry<String, String> query : queries.entrySet()) {
            long[] nanos = new long[requests];
            long events = 0;
            long bytes = 0;
            int done = 0;
            int errors = 0;
            String error = "";
            long began = System.nanoTime();
            for (int i = -warmup; i < requests; i++) {
                double elapsed = (System.nanoTime() - began) / 1e9;
                if (i < 0 && elapsed > budget / 4) {
                    i = 0; // a slow warm-up: a quarter of the query's time is enough of it
                }
                if (elapsed > budget && done > 0) {
                    break; // the query's time is up: the figures are over the requests made
                }
                long from = oldest + (long) (random.nextDouble() * Math.max(1, newest - oldest - 86_400_000L));
                String text = query.getValue().replace("{after}", HexFormat.of().toHexDigits(from << 22) + "000000");
                HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/history?" + text)).timeout(Duration.ofSeconds(30)).GET().build();
                long start = System.nanoTime();
                HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
                long took = System.nanoTime() - start;
                if (response.statusCode() != 200) {
                    errors++;
                    error = response.statusCode() + " " + new String(response.body(), java.nio.charset.StandardCharsets.UTF_8);
                }
                if (i >= 0) {
                    nanos[done++] = took;
                    bytes += response.body().length;
                    events += count(new String(response.body(), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
            if (done == 0) {
                System.out.printf(Locale.ROOT, "%s %s: no timed request within %.0f s (%s)%n", label, query.getKey(), budget, error);
                continue;
            }
            long[] timed = Arrays.copyOf(nanos, done);
            Arrays.sort(timed);
            double p50 = timed[(int) Math.ceil(0.50 * done) - 1] / 1e6;
            double p99 = timed[(int) Math.ceil(0.99 * done) - 1] / 1e6;
            double max = timed[done - 1] / 1e6;
            System.out.printf(Locale.ROOT, "%s %s: %d requests, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %.0f events and %.0f KiB per answer, %d not 200 %s(%s)%n",
                    label, query.getKey(), done, p50, p99, max, (double) events / done, bytes / 1024.0 / done, errors,
                    errors > 0 ? "[" + error.strip() + "] " : "", query.getValue());
            System.out.printf(Locale.ROOT, "RESULT {\"label\":\"%s\",\"query\":\"%s\",\"requests\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
                    + "\"events_per_answer\":%.1f,\"kib_per_answer\":%.1f,\"errors\":%d}%n",
                    label, query.getKey(), done, p50, p99, max, (double) events / done, bytes / 1024.0 / done, errors);
        }
    }

    private static String first(HttpClient client, String url) throws Exception {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        Matcher id = ID.matcher(response.body());
        if (response.statusCode() != 200 || !id.find()) {
            throw new IllegalStateException(url + ": " + response.statusCode() + ", no event: the store is empty?");
        }
        return id.group(1);
    }

    private static long received(String id) {
        return HexFormat.fromHexDigitsToLong(id, 0, 16) >>> 22;
    }

    /** Events in a page: its ids (a payload is JSON of its own, so only the events' own "id" keys are counted). */
    private static int count(String page) {
        List<String> ids = new ArrayList<>();
        Matcher id = ID.matcher(page);
        while (id.find()) {
            ids.add(id.group(1));
        }
        return ids.size();
    }
}
