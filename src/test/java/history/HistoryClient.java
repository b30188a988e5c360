package history;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import firehose.Await;

/** The history API (docs/history.md) as a client sees it: plain GETs on the application's HTTP port, answers parsed by Jackson. */
public final class HistoryClient {

    public static final ObjectMapper JSON = new ObjectMapper();
    /** How long an event may take to be recorded (batched within about a second) before a test gives up. */
    public static final Duration RECORDED = Duration.ofSeconds(20);
    private static final Duration REQUEST = Duration.ofSeconds(30);

    private final String baseUrl;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** {@code baseUrl}: the HTTP server's, {@code http://host:port}, as {@code FirehoseApp.httpUrl()} gives it. */
    public HistoryClient(String baseUrl) {
        this.baseUrl = baseUrl;
    }

    /** An HTTP answer, whatever its status. */
    public record Answer(int status, HttpHeaders headers, byte[] body) {

        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + this, e);
            }
        }

        public Optional<String> header(String name) {
            return headers.firstValue(name);
        }

        /** The Content-Type without parameters, lower case; empty when absent. */
        public String mediaType() {
            return header("Content-Type").map(type -> type.split(";")[0].trim().toLowerCase()).orElse("");
        }

        @Override
        public String toString() {
            String shown = text();
            return status + " " + headers.map() + " " + (shown.length() > 2000 ? shown.substring(0, 2000) + "…" : shown);
        }
    }

    /** One recorded event; {@code json} is the object as the API sent it. */
    public record Event(String id, String topic, String received, JsonNode payload, ObjectNode json) {

        static Event of(JsonNode node) {
            if (!(node instanceof ObjectNode object)) {
                throw new IllegalArgumentException("an event is a JSON object: " + node);
            }
            return new Event(text(object, "id"), text(object, "topic"), text(object, "received"), object.get("payload"), object);
        }

        private static String text(JsonNode node, String field) {
            JsonNode value = node.get(field);
            return value == null || value.isNull() ? null : value.asText();
        }
    }

    /** A page of {@code GET /history}: its events and its {@code next} link (null when absent). */
    public record Page(List<Event> events, String next, Answer answer) {

        public List<String> ids() {
            return HistoryClient.ids(events);
        }
    }

    /** GET a path with its query, sent as written (percent-encode it with {@link #query} and {@link #idPath}). */
    public Answer get(String pathAndQuery, String... headerNamesAndValues) throws IOException, InterruptedException {
        return send(pathAndQuery, "GET", headerNamesAndValues);
    }

    public Answer send(String pathAndQuery, String method, String... headerNamesAndValues) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + pathAndQuery)).timeout(REQUEST)
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (headerNamesAndValues.length > 0) {
            request.headers(headerNamesAndValues);
        }
        HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Answer(response.statusCode(), response.headers(), response.body());
    }

    /**
     * The status code of a GET whose request target is sent byte for byte over a socket, for targets that
     * {@link URI} refuses to build (a lone {@code %}, a bad escape).
     */
    public int rawStatus(String requestTarget) throws IOException {
        URI base = URI.create(baseUrl);
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(base.getHost(), base.getPort()), 10_000);
            socket.setSoTimeout((int) REQUEST.toMillis());
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + requestTarget + " HTTP/1.1\r\nHost: " + base.getHost() + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            for (int b = in.read(); b != -1 && b != '\n'; b = in.read()) {
                line.write(b);
            }
            String status = line.toString(StandardCharsets.ISO_8859_1);
            String[] parts = status.split(" ");
            if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
                throw new IOException("no HTTP status line for " + requestTarget + ": '" + status + "'");
            }
            return Integer.parseInt(parts[1].trim());
        }
    }

    /** A {@code GET /history...} that must answer 200 with a JSON page. */
    public Page page(String pathAndQuery, String... headerNamesAndValues) throws IOException, InterruptedException {
        Answer answer = get(pathAndQuery, headerNamesAndValues);
        if (answer.status() != 200) {
            throw new AssertionError("GET " + pathAndQuery + " answered " + answer);
        }
        JsonNode body = answer.json();
        JsonNode events = body.get("events");
        if (events == null || !events.isArray()) {
            throw new AssertionError("GET " + pathAndQuery + ": no events array in " + answer);
        }
        List<Event> parsed = new ArrayList<>();
        events.forEach(event -> parsed.add(Event.of(event)));
        JsonNode next = body.get("next");
        return new Page(parsed, next == null || next.isNull() ? null : next.asText(), answer);
    }

    /** Every page from {@code first} on, following {@code next} until a page has none. */
    public List<Page> walk(String first) throws IOException, InterruptedException {
        List<Page> pages = new ArrayList<>();
        String at = first;
        while (at != null) {
            if (pages.size() > 10_000) {
                throw new AssertionError("more than 10,000 pages from " + first + ": next goes round in circles?");
            }
            Page page = page(at);
            pages.add(page);
            at = page.next();
        }
        return pages;
    }

    /** The events of every page from {@code first} on, in the order given. */
    public List<Event> all(String first) throws IOException, InterruptedException {
        return walk(first).stream().flatMap(page -> page.events().stream()).toList();
    }

    /** An NDJSON answer's lines, each parsed as an event; fails on a blank line in between. */
    public static List<Event> ndjson(Answer answer) {
        String text = answer.text();
        List<Event> events = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (line.isEmpty() && i == lines.length - 1) {
                break; // the newline ending the last line
            }
            try {
                events.add(Event.of(JSON.readTree(line)));
            } catch (IOException | IllegalArgumentException e) {
                throw new AssertionError("line " + (i + 1) + " is not one JSON event object: '" + line + "'", e);
            }
        }
        return events;
    }

    /**
     * Waits until at least {@code count} events whose topic is {@code topicPrefix} or under it are recorded, and
     * returns them oldest first.
     */
    public List<Event> awaitRecorded(String topicPrefix, int count) throws InterruptedException {
        String first = "/history" + query("topic", topicPrefix + "/#", "order", "asc", "limit", "1000");
        AtomicReference<List<Event>> events = new AtomicReference<>(List.of());
        AtomicReference<String> last = new AtomicReference<>("nothing yet");
        Await.until(RECORDED, () -> {
            try {
                events.set(all(first));
                last.set(events.get().size() + " events");
            } catch (IOException | RuntimeException | AssertionError e) {
                last.set(e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            return events.get().size() >= count;
        }, () -> count + " events under " + topicPrefix + " recorded; last answer: " + last.get());
        return events.get();
    }

    /** Waits until a GET answers as {@code wanted} says, and returns that answer. */
    public Answer awaitAnswer(String pathAndQuery, Predicate<Answer> wanted) throws InterruptedException {
        AtomicReference<Answer> last = new AtomicReference<>();
        AtomicReference<String> failure = new AtomicReference<>("nothing yet");
        Await.until(RECORDED, () -> {
            try {
                last.set(get(pathAndQuery));
                return wanted.test(last.get());
            } catch (IOException | RuntimeException e) {
                failure.set(e.toString());
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }, () -> "the answer wanted to GET " + pathAndQuery + "; last: " + (last.get() == null ? failure.get() : last.get()));
        return last.get();
    }

    /** {@code ?name=value&...}, each name and value percent-encoded as UTF-8 (a space as %20). */
    public static String query(String... namesAndValues) {
        StringBuilder query = new StringBuilder();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            query.append(i == 0 ? '?' : '&').append(encode(namesAndValues[i])).append('=').append(encode(namesAndValues[i + 1]));
        }
        return query.toString();
    }

    /** {@code /history/<id>}, the id percent-encoded as one path segment. */
    public static String idPath(String id) {
        return "/history/" + encode(id);
    }

    /** Percent-encodes everything but letters, digits and {@code -._*}: safe in a query value and in a path segment. */
    public static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    public static List<String> ids(List<Event> events) {
        return events.stream().map(Event::id).toList();
    }

    /** Whether an MQTT topic filter matches a topic (MQTT 3.1.1 §4.7; {@code $}-topics aside). */
    public static boolean matches(String filter, String topic) {
        String[] f = filter.split("/", -1);
        String[] t = topic.split("/", -1);
        for (int i = 0; i < f.length; i++) {
            if (f[i].equals("#")) {
                return true; // also the parent level: "a/#" matches "a"
            }
            if (i >= t.length || !(f[i].equals("+") || f[i].equals(t[i]))) {
                return false;
            }
        }
        return f.length == t.length;
    }
}
