package gerrit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import firehose.Await;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.Subscriber;
import org.apache.camel.Route;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.helpers.AbstractConnectionService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Gerrit stream-events over SSH (a MINA SSHD server plays Gerrit) to MQTT subscribers. */
class GerritIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Path SAMPLES = Path.of("src/test/resources/gerrit");

    @TempDir
    Path dir;

    /** The application with one Gerrit route template instance per (id, server). */
    private FirehoseApp.Builder app(String id, int port, Path knownHosts, String key, String topic) {
        return FirehoseApp.builder(dir.resolve("data")).set("firehose.broker.sys-interval", "0")
                .set(gerrit(id, "template-id"), "gerrit")
                .set(gerrit(id, "host"), "127.0.0.1")
                .set(gerrit(id, "port"), String.valueOf(port))
                .set(gerrit(id, "username"), FakeGerrit.USER)
                .set(gerrit(id, "key-file"), FakeGerrit.KEYS.resolve(key).toAbsolutePath().toString())
                .set(gerrit(id, "known-hosts"), knownHosts.toString())
                .set(gerrit(id, "topic"), topic)
                .set(gerrit(id, "max-backoff"), "2");
    }

    private static String gerrit(String id, String key) {
        return "camel.route-template[" + id + "]." + key;
    }

    private static List<String> sampleLines() throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.list(SAMPLES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()) {
                Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).forEach(lines::add);
            }
        }
        return lines;
    }

    /** The topic rules of the README (Gerrit), written out independently of the code under test. */
    private static String expectedTopic(String base, String line) throws IOException {
        JsonNode event = new ObjectMapper().readTree(line);
        String project = Stream.of(event.path("project"), event.path("change").path("project"),
                        event.path("refUpdate").path("project"), event.path("projectName"))
                .filter(JsonNode::isTextual).map(JsonNode::asText).findFirst().orElse(null);
        String type = event.path("type").asText();
        return project == null ? base + "/" + type : base + "/" + project + "/" + type;
    }

    @Test
    void every_sample_event_arrives_on_its_topic_byte_identical() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit();
             FirehoseApp app = app("review", gerrit.port(), gerrit.writeKnownHosts(dir.resolve("known_hosts")), "id_ed25519", "gerrit").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            gerrit.awaitOpened(1, WAIT);
            assertEquals(List.of("gerrit stream-events"), gerrit.commands());
            List<String> lines = sampleLines();
            assertEquals(72, lines.size());
            for (String line : lines) {
                gerrit.send(line);
            }
            List<Subscriber.Received> got = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                Subscriber.Received received = subscriber.poll(WAIT);
                if (received == null) {
                    break;
                }
                got.add(received);
            }
            // the stream's order, across topics too (MQTT itself only promises it per topic)
            List<String> expected = new ArrayList<>();
            for (String line : lines) {
                expected.add(expectedTopic("gerrit", line) + " " + line);
            }
            assertEquals(expected, got.stream().map(r -> r.topic() + " " + r.payload()).toList(),
                    () -> "streams opened " + gerrit.opened() + ", received " + consumer(app).stats().received()
                            + ", published " + consumer(app).stats().published() + ", reconnects " + consumer(app).stats().reconnects());
            assertTrue(got.stream().allMatch(r -> r.qos() == 1));
            Subscriber.Received none = subscriber.poll(Duration.ofMillis(200));
            assertNull(none, "nothing more");
        }
    }

    @Test
    void well_known_samples_land_where_germqtt_put_them_and_better() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit();
             FirehoseApp app = app("review", gerrit.port(), gerrit.writeKnownHosts(dir.resolve("known_hosts")), "id_rsa", "gerrit").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            gerrit.awaitOpened(1, WAIT);
            gerrit.send(Files.readAllLines(SAMPLES.resolve("openstack-comment-added.jsonl")).get(0));
            assertEquals("gerrit/openstack/keystone/comment-added", subscriber.next(WAIT).topic(), "change.project");
            gerrit.send(Files.readAllLines(SAMPLES.resolve("wikimedia-cr+1.jsonl")).get(2));
            assertEquals("gerrit/test/gerrit-ping/ref-updated", subscriber.next(WAIT).topic(), "refUpdate.project");
            gerrit.send("{\"type\":\"dropped-output\"}");
            assertEquals("gerrit/dropped-output", subscriber.next(WAIT).topic(), "no project: no empty level");
            gerrit.send(FakeGerrit.changeEvent("comment-added", "c++/lib#2", ""));
            assertEquals("gerrit/c%2B%2B/lib%232/comment-added", subscriber.next(WAIT).topic(), "wildcards encoded");
        }
    }

    @Test
    void an_event_off_its_schema_is_published_unchanged_counted_and_logged_once_a_minute() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit();
             FirehoseApp app = app("review", gerrit.port(), gerrit.writeKnownHosts(dir.resolve("known_hosts")), "id_rsa", "gerrit").start()
                     .offSchemaExpected();
             LogCapture log = LogCapture.open();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            gerrit.awaitOpened(1, WAIT);
            String off = "{\"type\":\"comment-added\",\"project\":\"nova\",\"patchSet\":{\"number\":\"one\"}}";
            String on = FakeGerrit.changeEvent("comment-added", "nova", "");
            for (String line : List.of(off, on, off, off)) {
                gerrit.send(line);
                assertEquals(line, subscriber.next(WAIT).payload(), "published byte for byte, off its schema or not");
            }
            String metrics = app.http("/observe/metrics").body();
            assertTrue(metrics.contains("firehose_events_off_schema_total{source=\"gerrit\",type=\"comment-added\"} 3.0"), metrics);
            assertTrue(metrics.contains("firehose_events_off_schema_total{source=\"gerrit\",type=\"patchset-created\"} 0.0"), "each kind from the start");
            List<LogCapture.Line> lines = log.lines().stream().filter(l -> l.text().contains("off their schema")).toList();
            assertEquals(1, lines.size(), "one line a minute at most: " + lines);
            assertTrue(lines.get(0).text().contains("gerrit/comment-added.json") && lines.get(0).text().contains("change"), lines.get(0).text());
        }
    }

    @Test
    void passphrase_protected_key_works() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit();
             FirehoseApp app = app("review", gerrit.port(), gerrit.writeKnownHosts(dir.resolve("known_hosts")), "id_ed25519_pass", "gerrit")
                     .set(gerrit("review", "key-passphrase"), "correct horse battery").start();
             LogCapture log = LogCapture.open();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            gerrit.awaitOpened(1, WAIT);
            gerrit.send("{\"type\":\"ref-updated\",\"refUpdate\":{\"project\":\"p\",\"refName\":\"refs/heads/master\",\"oldRev\":\"0000000000000000000000000000000000000000\",\"newRev\":\"" + FakeGerrit.REVISION + "\"}}");
            assertEquals("gerrit/p/ref-updated", subscriber.next(WAIT).topic());
            assertFalse(log.lines().stream().anyMatch(l -> l.text().contains("correct horse")), "passphrase not logged");
        }
    }

    @Test
    void unknown_or_changed_host_key_is_refused_until_known_hosts_is_right() throws Exception {
        Path knownHosts = dir.resolve("known_hosts");
        Files.writeString(knownHosts, "");
        try (LogCapture log = LogCapture.open();
             FakeGerrit gerrit = new FakeGerrit();
             FirehoseApp app = app("review", gerrit.port(), knownHosts, "id_ed25519", "gerrit").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            Await.until(WAIT, () -> log.lines().stream().anyMatch(l -> l.text().contains("unknown host key")), () -> "no refusal logged");
            assertEquals(0, gerrit.opened(), "no stream with an unknown host");
            JsonNode refused = health(app, "review");
            assertEquals("DOWN", refused.path("status").asText(), refused::toString);
            // Camel's health JSON escapes the message's '/' once more than JSON needs: "\/" once parsed
            assertTrue(refused.path("message").asText().replace("\\/", "/").contains("not in " + knownHosts), refused::toString);

            // a known_hosts line for this host:port with another key: a changed key, refused loudly
            String impostor = "[127.0.0.1]:" + gerrit.port() + " " + Files.readString(FakeGerrit.KEYS.resolve("impostor_host_ed25519.pub")).strip();
            Files.writeString(knownHosts, impostor + "\n");
            Await.until(WAIT, () -> log.lines().stream().anyMatch(l -> l.text().contains("CHANGED")), () -> "no changed-key refusal");
            assertEquals(0, gerrit.opened());

            gerrit.writeKnownHosts(knownHosts);
            gerrit.awaitOpened(1, WAIT);
            gerrit.send(FakeGerrit.changeEvent("comment-added", "ok", ""));
            assertEquals("gerrit/ok/comment-added", subscriber.next(WAIT).topic());
        }
    }

    @Test
    void unknown_client_key_is_refused() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit();
             FirehoseApp app = app("review", gerrit.port(), gerrit.writeKnownHosts(dir.resolve("known_hosts")), "stranger_ed25519", "gerrit").start()) {
            Await.until(WAIT, () -> consumer(app).stats().reconnects() >= 1, () -> "no failed attempt");
            assertEquals(0, gerrit.opened());

            HttpResponse<String> health = app.http("/observe/health");
            assertEquals(503, health.statusCode(), "DOWN while disconnected");
            assertTrue(health.body().contains("\"name\":\"gerrit-review\",\"status\":\"DOWN\""), health.body());
            assertTrue(health.body().toLowerCase().contains("auth"), "with the reason: " + health.body());
            assertEquals(200, app.http("/observe/health/live").statusCode(), "Gerrit being away is no reason to restart Firehose");
        }
    }

    @Test
    void health_is_up_and_metrics_count_events_per_server_while_connected() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit();
             FirehoseApp app = app("review", gerrit.port(), gerrit.writeKnownHosts(dir.resolve("known_hosts")), "id_ed25519", "gerrit").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            gerrit.awaitOpened(1, WAIT);
            Await.until(WAIT, () -> "UP".equals(health(app, "review").path("status").asText()), () -> health(app, "review").toString());
            gerrit.send(FakeGerrit.changeEvent("comment-added", "m", ""));
            gerrit.send("garbage");
            gerrit.send(FakeGerrit.changeEvent("comment-added", "m", ""));
            subscriber.next(WAIT);
            subscriber.next(WAIT);
            assertEquals(200, app.http("/observe/health").statusCode());
            String metrics = app.http("/observe/metrics").body();
            String labels = "{route=\"review\",server=\"127.0.0.1:" + gerrit.port() + "\"}";
            assertTrue(metrics.contains("firehose_gerrit_events_received_total" + labels + " 3.0"), metrics);
            assertTrue(metrics.contains("firehose_gerrit_events_published_total" + labels + " 2.0"), metrics);
            assertTrue(metrics.contains("firehose_gerrit_events_skipped_total{reason=\"not-json\",route=\"review\",server=\"127.0.0.1:"
                    + gerrit.port() + "\"} 1.0"), metrics);
            assertTrue(metrics.contains("firehose_publish_pipelined_failed_total 0.0"), metrics);
        }
    }

    @Test
    void server_dropping_the_connection_mid_stream_is_reconnected_and_later_events_arrive() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit();
             FirehoseApp app = app("review", gerrit.port(), gerrit.writeKnownHosts(dir.resolve("known_hosts")), "id_ed25519", "gerrit").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            gerrit.awaitOpened(1, WAIT);
            gerrit.send(FakeGerrit.changeEvent("comment-added", "before", ""));
            assertEquals("gerrit/before/comment-added", subscriber.next(WAIT).topic());

            gerrit.dropConnections();
            gerrit.awaitOpened(2, WAIT);
            gerrit.send(FakeGerrit.changeEvent("comment-added", "after", ""));
            assertEquals("gerrit/after/comment-added", subscriber.next(WAIT).topic());
            JsonNode back = health(app, "review");
            assertEquals("UP", back.path("status").asText(), back::toString);
        }
    }

    @Test
    void a_server_that_stops_answering_is_detected_by_keepalive_and_reconnected() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit();
             FreezableProxy proxy = new FreezableProxy(gerrit.port());
             FirehoseApp app = app("review", proxy.port(), knownHostsVia(gerrit, proxy), "id_ed25519", "gerrit")
                     .set(gerrit("review", "keepalive"), "1")
                     .set(gerrit("review", "keepalive-max-missed"), "2").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            gerrit.awaitOpened(1, WAIT);
            gerrit.send(FakeGerrit.changeEvent("comment-added", "before", ""));
            assertEquals("gerrit/before/comment-added", subscriber.next(WAIT).topic());

            proxy.freeze();
            // keepalive 1 s, 2 missed: the dead peer is noticed in about 3 s, then 1-2 s of backoff
            gerrit.awaitOpened(2, Duration.ofSeconds(12));
            gerrit.send(FakeGerrit.changeEvent("comment-added", "after", ""));
            Subscriber.Received next = subscriber.next(WAIT);
            assertEquals("gerrit/after/comment-added", next.topic());
        }
    }

    @Test
    void garbage_half_lines_huge_and_non_ascii_events_are_handled_and_counted() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit();
             FirehoseApp app = app("review", gerrit.port(), gerrit.writeKnownHosts(dir.resolve("known_hosts")), "id_ed25519", "gerrit").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            gerrit.awaitOpened(1, WAIT);
            String unicode = FakeGerrit.changeEvent("comment-added", "i18n", ",\"comment\":\"Größe ✓ 漢字 — ok\"");
            String huge = FakeGerrit.changeEvent("patchset-created", "big", ",\"commitMessage\":\"" + "x".repeat(1 << 20) + "\"");
            gerrit.send("this is not json");
            gerrit.send("[\"a JSON array\"]");
            gerrit.send(unicode);
            gerrit.send(huge);
            gerrit.sendRaw("{\"type\":\"comment-added\",\"proj".getBytes(StandardCharsets.UTF_8));
            Subscriber.Received first = subscriber.next(WAIT);
            assertEquals("gerrit/i18n/comment-added", first.topic());
            assertEquals(unicode, first.payload());
            Subscriber.Received second = subscriber.next(WAIT);
            assertEquals("gerrit/big/patchset-created", second.topic());
            assertEquals(huge, second.payload());

            Await.until(WAIT, () -> holdingPartialLine(app), () -> "the half line did not arrive");
            gerrit.dropConnections(); // in the middle of the half line
            gerrit.awaitOpened(2, WAIT);
            gerrit.send(FakeGerrit.changeEvent("comment-added", "after", ""));
            assertEquals("gerrit/after/comment-added", subscriber.next(WAIT).topic());

            GerritStreamConsumer.Stats stats = consumer(app).stats();
            assertEquals(5, stats.received());
            assertEquals(3, stats.published());
            assertEquals(3, stats.skipped(), "two non-events and the half line");
        }
    }

    @Test
    void two_gerrit_servers_publish_under_their_own_base_topics() throws Exception {
        try (FakeGerrit openstack = new FakeGerrit();
             FakeGerrit wikimedia = new FakeGerrit()) {
            Path knownHosts = dir.resolve("known_hosts");
            Files.writeString(knownHosts, openstack.knownHostsLine() + "\n" + wikimedia.knownHostsLine() + "\n");
            try (FirehoseApp app = app("review", openstack.port(), knownHosts, "id_ed25519", "gerrit")
                    .set(gerrit("wm", "template-id"), "gerrit")
                    .set(gerrit("wm", "host"), "127.0.0.1")
                    .set(gerrit("wm", "port"), String.valueOf(wikimedia.port()))
                    .set(gerrit("wm", "username"), FakeGerrit.USER)
                    .set(gerrit("wm", "key-file"), FakeGerrit.KEYS.resolve("id_rsa").toAbsolutePath().toString())
                    .set(gerrit("wm", "known-hosts"), knownHosts.toString())
                    .set(gerrit("wm", "topic"), "gerrit-wikimedia").start();
                 Subscriber subscriber = Subscriber.on(app.tcpUrl(), "#")) {
                openstack.awaitOpened(1, WAIT);
                wikimedia.awaitOpened(1, WAIT);
                openstack.send(FakeGerrit.changeEvent("comment-added", "openstack/nova", ""));
                assertEquals("gerrit/openstack/nova/comment-added", subscriber.next(WAIT).topic());
                wikimedia.send(FakeGerrit.changeEvent("comment-added", "mediawiki/core", ""));
                assertEquals("gerrit-wikimedia/mediawiki/core/comment-added", subscriber.next(WAIT).topic());

                // the documents of the bus name both servers' base topics: the AsyncAPI channels, the viewer's schema links
                HttpClient http = HttpClient.newHttpClient();
                String asyncapi = http.send(HttpRequest.newBuilder(URI.create(app.httpUrl() + "/asyncapi.yaml")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                for (String base : List.of("gerrit", "gerrit-wikimedia")) {
                    assertTrue(asyncapi.contains("address: \"" + base + "/{namespace}/{repo}/{event}\""), base + " in " + asyncapi);
                    assertTrue(asyncapi.contains("address: \"" + base + "/{event}\""), base + " in " + asyncapi);
                }
                String page = http.send(HttpRequest.newBuilder(URI.create(app.httpUrl() + "/")).build(), HttpResponse.BodyHandlers.ofString()).body();
                assertTrue(page.contains("&quot;gerrit&quot;:[&quot;gerrit&quot;,&quot;gerrit-wikimedia&quot;]"), page);
            }
        }
    }

    private static Path knownHostsVia(FakeGerrit gerrit, FreezableProxy proxy) throws IOException {
        Path file = Files.createTempFile("known_hosts", "");
        Files.writeString(file, gerrit.knownHostsLine().replace("]:" + gerrit.port() + " ", "]:" + proxy.port() + " ") + "\n");
        return file;
    }

    /** The Gerrit server's check in {@code /observe/health}, as users see it: its {@code status} and {@code message}. */
    private static JsonNode health(FirehoseApp app, String route) {
        try {
            JsonNode body = new ObjectMapper().readTree(app.http("/observe/health").body());
            for (JsonNode check : body.path("checks")) {
                if (("gerrit-" + route).equals(check.path("name").asText())) {
                    return check;
                }
            }
            throw new AssertionError("no gerrit-" + route + " check in " + body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /**
     * Whether the stream's reader holds part of a line, read from outside the consumer: its SSH session (a private
     * field, by reflection), that session's exec channel, whose stdout is the {@link LineSplitter}.
     */
    private static boolean holdingPartialLine(FirehoseApp app) {
        ClientSession session;
        try {
            Field field = GerritStreamConsumer.class.getDeclaredField("session");
            field.setAccessible(true);
            session = (ClientSession) field.get(consumer(app));
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot read the consumer's SSH session", e);
        }
        if (session == null || !(session.getService(ConnectionService.class) instanceof AbstractConnectionService connections)) {
            return false;
        }
        return connections.getChannels().stream()
                .anyMatch(channel -> channel instanceof ChannelExec exec && exec.getOut() instanceof LineSplitter lines && lines.midLine());
    }

    static GerritStreamConsumer consumer(FirehoseApp app) {
        for (Route route : app.context().getRoutes()) {
            if (route.getConsumer() instanceof GerritStreamConsumer consumer) {
                return consumer;
            }
        }
        throw new AssertionError("no Gerrit route running: " + app.context().getRoutes());
    }

}
