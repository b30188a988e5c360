package subunit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import firehose.Await;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Subunit results from the inbox, POST /subunit and POST /subunit/jobs to MQTT subscribers. */
class SubunitIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path STREAMS = SubunitSummaryTest.STREAMS;
    private static final String NOVA = "{\"build_uuid\":\"5b0a8ff3\",\"build_name\":\"tempest-full\",\"build_status\":\"FAILURE\","
            + "\"build_change\":\"123456\",\"build_patchset\":\"7\",\"build_queue\":\"check\",\"build_ref\":\"refs/changes/56/123456/7\","
            + "\"build_branch\":\"master\",\"project\":\"openstack/nova\",\"voting\":true,\"build_node\":\"ubuntu-noble\","
            + "\"log_url\":\"https://logs.example.org/56/123456/7/check/tempest-full/5b0a8ff3/\"}";

    @TempDir
    Path dir;

    private FirehoseApp.Builder app() {
        return FirehoseApp.builder(dir.resolve("data")).set("firehose.broker.sys-interval", "0").set("firehose.subunit.worker", "firehose01");
    }

    private Path inbox() {
        return dir.resolve("data/subunit/inbox");
    }

    private Path folder(String name) {
        return dir.resolve("data/subunit/" + name);
    }

    /** Writes a file the way writers should: under a hidden name, then renamed into place. */
    private void drop(String name, byte[] content) throws IOException {
        Files.createDirectories(inbox());
        Path hidden = inbox().resolve("." + name + ".tmp");
        Files.write(hidden, content);
        Files.move(hidden, inbox().resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    private void dropStream(String fixture, String as, String sidecar) throws IOException {
        if (sidecar != null) {
            drop(as + ".json", sidecar.getBytes(StandardCharsets.UTF_8));
        }
        drop(as, Files.readAllBytes(STREAMS.resolve(fixture)));
    }

    private static JsonNode json(Subscriber.Received received) throws IOException {
        return JSON.readTree(received.payload());
    }

    @Test
    void should_publish_an_inbox_file_with_its_sidecar_and_move_both_to_done() throws Exception {
        try (FirehoseApp app = app().start(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gearman-subunit/#")) {
            dropStream("mixed.subunit", "testrepository.subunit", NOVA);
            Subscriber.Received received = subscriber.next(WAIT);
            assertEquals("gearman-subunit/firehose01/openstack/nova/123456", received.topic());
            JsonNode event = json(received);
            JsonNode metadata = JSON.readTree(NOVA);
            metadata.fieldNames().forEachRemaining(field -> assertEquals(metadata.get(field), event.get(field), field));
            assertEquals("failed", event.get("status").textValue());
            assertTrue(event.get("source_url").isNull());
            assertEquals(JSON.readTree("{\"total\":200,\"passed\":177,\"failed\":7,\"skipped\":11,\"xfail\":3,\"uxsuccess\":2}"), event.get("tests"));
            assertEquals(91.717, event.get("duration_seconds").doubleValue());
            assertEquals("2026-11-01T12:00:00.000000Z", event.get("run_at").textValue());
            assertEquals(9, event.get("failures").size());
            assertEquals("project.tests.unit.test_module_1.TestCase1.test_case_1", event.get("failures").get(0).textValue());

            // the two files are moved one after the other: wait for both moves, then both must be in done
            Await.until(WAIT, () -> Files.exists(folder("done").resolve("testrepository.subunit.json")), () -> "sidecar moved to done");
            Await.until(WAIT, () -> {
                try (var left = Files.list(inbox())) {
                    return left.count() == 0;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, () -> "inbox emptied");
            assertTrue(Files.exists(folder("done").resolve("testrepository.subunit")));
        }
    }

    @Test
    void should_read_gzip_files_without_sidecar_and_cut_the_topic() throws Exception {
        try (FirehoseApp app = app().start(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gearman-subunit/#")) {
            dropStream("mixed.subunit.gz", "run.subunit.gz", null);
            Subscriber.Received received = subscriber.next(WAIT);
            assertEquals("gearman-subunit/firehose01", received.topic());
            JsonNode event = json(received);
            assertTrue(event.get("build_uuid").isNull());
            assertEquals(200, event.get("tests").get("total").intValue());
        }
    }

    @Test
    void should_move_broken_files_to_the_error_folder_with_the_reason_and_publish_nothing() throws Exception {
        try (FirehoseApp app = app().start(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gearman-subunit/#")) {
            byte[] whole = Files.readAllBytes(STREAMS.resolve("mixed.subunit"));
            dropStream("v1-successful.subunit", "v1.subunit", NOVA);
            drop("cut.subunit", Arrays.copyOf(whole, whole.length / 2));
            byte[] flipped = whole.clone();
            flipped[100] ^= 0x20;
            drop("flipped.subunit", flipped);
            drop("badsidecar.subunit.json", "{not json".getBytes(StandardCharsets.UTF_8));
            drop("badsidecar.subunit", whole);
            drop("computed.subunit.json", "{\"status\":\"success\"}".getBytes(StandardCharsets.UTF_8));
            drop("computed.subunit", whole);
            Map<String, String> reasons = Map.of(
                    "v1.subunit", "subunit v1",
                    "cut.subunit", "truncated stream: the packet at offset",
                    "flipped.subunit", "packet at offset 79: CRC32 mismatch",
                    "badsidecar.subunit", "sidecar badsidecar.subunit.json:",
                    "computed.subunit", "'status' is computed from the stream");
            for (var expected : reasons.entrySet()) {
                Path rejected = folder("error").resolve(expected.getKey());
                Await.until(WAIT, () -> Files.exists(rejected), () -> expected.getKey() + " in the error folder");
                // the reason is whole before the file arrives: whoever watches the folder can read it at once
                String text = Files.readString(rejected.resolveSibling(expected.getKey() + ".reason"));
                assertTrue(text.contains(expected.getValue()), expected.getKey() + ": " + text);
            }
            assertTrue(Files.exists(folder("error").resolve("v1.subunit.json")), "the sidecar goes along");
            // a good file after them is the first and only event
            dropStream("successful.subunit", "good.subunit", null);
            assertEquals(21, json(subscriber.next(WAIT)).get("tests").get("total").intValue());
            assertNull(subscriber.poll(Duration.ofMillis(300)));
            String metrics = app.http("/observe/metrics").body();
            assertTrue(metrics.contains("firehose_subunit_inputs_total{outcome=\"rejected\"} 5.0"), metrics);
            assertTrue(metrics.contains("firehose_subunit_inputs_total{outcome=\"published\"} 1.0"), metrics);
        }
    }

    /** A persistent session, so that events published while the test's client is away (a restart) wait for it. */
    private static Subscriber durable(FirehoseApp app) throws Exception {
        return Subscriber.connect(app.tcpUrl(), "subunit-it-durable", false).subscribe("gearman-subunit/#", 1);
    }

    @Test
    void should_keep_a_file_the_broker_could_not_take_and_publish_it_once_after_a_restart() throws Exception {
        FirehoseApp app = app().set("firehose.publish.retries", "1").set("firehose.publish.retry-delay", "100").start();
        try {
            durable(app).close();
            NotifyBuilder failed = new NotifyBuilder(app.context()).fromRoute("subunit-inbox").whenFailed(1).create();
            app.broker().stop();
            dropStream("mixed.subunit", "testrepository.subunit", NOVA);
            assertTrue(failed.matches(WAIT.toSeconds(), TimeUnit.SECONDS), "the publish failed");
            assertTrue(Files.exists(inbox().resolve("testrepository.subunit")), "still in the inbox");
        } finally {
            app.close();
        }
        try (FirehoseApp again = app.start(); Subscriber subscriber = durable(again)) {
            assertEquals(200, json(subscriber.next(WAIT)).get("tests").get("total").intValue());
            Await.until(WAIT, () -> Files.exists(folder("done").resolve("testrepository.subunit")), () -> "moved to done");
            assertNull(subscriber.poll(Duration.ofMillis(500)), "published once");
        }
    }

    @Test
    void should_not_publish_again_a_file_published_before_a_restart() throws Exception {
        FirehoseApp app = app().start();
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gearman-subunit/#")) {
            dropStream("mixed.subunit", "testrepository.subunit", NOVA);
            subscriber.next(WAIT);
            Await.until(WAIT, () -> Files.exists(folder("done").resolve("testrepository.subunit")), () -> "moved to done");
            // the persistent session starts after the event: a QoS 1 delivery whose PUBACK the client had not sent
            // before it disconnected would rightly come again after the restart and look like a second publication
            durable(app).close();
        } finally {
            app.close();
        }
        // as if the application had stopped after publishing, before moving the file: it is in the inbox again
        dropStream("mixed.subunit", "testrepository.subunit", NOVA);
        try (FirehoseApp again = app.start(); Subscriber subscriber = durable(again)) {
            Await.until(WAIT, () -> Files.exists(folder("done").resolve("testrepository.subunit.1")), () -> "moved to done, renamed");
            assertTrue(Files.exists(folder("done").resolve("testrepository.subunit.1.json")));
            dropStream("successful.subunit", "next.subunit", null);
            assertEquals(21, json(subscriber.next(WAIT)).get("tests").get("total").intValue(), "the next event, not the old one");
        }
    }

    // ---- POST /subunit

    private static HttpResponse<String> post(String url, byte[] body) throws Exception {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                HttpRequest.newBuilder(URI.create(url)).timeout(WAIT).header("Content-Type", "application/octet-stream")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void should_publish_an_upload_with_its_query_metadata_once() throws Exception {
        try (FirehoseApp app = app().start(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gearman-subunit/#")) {
            String url = app.httpUrl() + "/subunit?build_uuid=ab12&project=openstack%2Fneutron&build_change=98765&build_name=unit+tests";
            byte[] stream = Files.readAllBytes(STREAMS.resolve("mixed.subunit.gz"));
            HttpResponse<String> response = post(url, stream);
            assertEquals(200, response.statusCode(), response.body());
            JsonNode answer = JSON.readTree(response.body());
            assertTrue(answer.get("published").booleanValue());
            assertEquals("gearman-subunit/firehose01/openstack/neutron/98765", answer.get("topic").textValue());

            Subscriber.Received received = subscriber.next(WAIT);
            assertEquals("gearman-subunit/firehose01/openstack/neutron/98765", received.topic());
            JsonNode event = json(received);
            assertEquals("ab12", event.get("build_uuid").textValue());
            assertEquals("unit tests", event.get("build_name").textValue());
            assertEquals(answer.get("event"), event);

            // the same upload again (a retry): answered, not published twice
            HttpResponse<String> retry = post(url, stream);
            assertEquals(200, retry.statusCode(), retry.body());
            assertFalse(JSON.readTree(retry.body()).get("published").booleanValue());
            assertEquals(200, post(app.httpUrl() + "/subunit?project=other", Files.readAllBytes(STREAMS.resolve("successful.subunit"))).statusCode());
            assertEquals("gearman-subunit/firehose01/other", subscriber.next(WAIT).topic(), "the next event, not the retried one");
        }
    }

    @Test
    void should_answer_bad_uploads_with_the_reason() throws Exception {
        try (FirehoseApp app = app().start(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gearman-subunit/#")) {
            byte[] whole = Files.readAllBytes(STREAMS.resolve("mixed.subunit"));
            assertError(post(app.httpUrl() + "/subunit", Arrays.copyOf(whole, 1000)), 422, "truncated stream: the packet at offset");
            byte[] flipped = whole.clone();
            flipped[whole.length - 2] ^= 0x40;
            assertError(post(app.httpUrl() + "/subunit", flipped), 422, "CRC32 mismatch");
            assertError(post(app.httpUrl() + "/subunit", Files.readAllBytes(STREAMS.resolve("v1-successful.subunit"))), 422, "subunit v1");
            assertError(post(app.httpUrl() + "/subunit", "<html>hello</html>".getBytes(StandardCharsets.UTF_8)), 422, "not a subunit v2 stream");
            assertError(post(app.httpUrl() + "/subunit", new byte[0]), 422, "empty input");
            assertError(post(app.httpUrl() + "/subunit?status=success", whole), 400, "'status' is computed from the stream");
            assertNull(subscriber.poll(Duration.ofMillis(300)), "nothing published");
        }
    }

    private static void assertError(HttpResponse<String> response, int status, String reason) throws IOException {
        assertEquals(status, response.statusCode(), response.body());
        String error = JSON.readTree(response.body()).get("error").textValue();
        assertTrue(error.contains(reason), error);
    }

    // ---- POST /subunit/jobs

    @Test
    void should_fetch_jobs_gz_first_then_plain_and_report_what_cannot_be_fetched() throws Exception {
        HttpServer logs = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        Map<String, byte[]> files = Map.of(
                "/a/testrepository.subunit.gz", Files.readAllBytes(STREAMS.resolve("mixed.subunit.gz")),
                "/a/testrepository.subunit", Files.readAllBytes(STREAMS.resolve("successful.subunit")), // not the one fetched
                "/b/testrepository.subunit", Files.readAllBytes(STREAMS.resolve("successful.subunit")),
                "/c/broken.subunit", Arrays.copyOf(Files.readAllBytes(STREAMS.resolve("mixed.subunit")), 5000));
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        logs.createContext("/stall/", exchange -> { // headers and a few bytes, then silence
            byte[] whole = Files.readAllBytes(STREAMS.resolve("mixed.subunit"));
            exchange.sendResponseHeaders(200, whole.length);
            OutputStream out = exchange.getResponseBody();
            out.write(whole, 0, 1000);
            out.flush();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        logs.createContext("/", exchange -> {
            byte[] body = files.get(exchange.getRequestURI().getPath());
            exchange.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
            if (body != null) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
            exchange.close();
        });
        logs.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        logs.start();
        String base = "http://127.0.0.1:" + logs.getAddress().getPort();
        try (FirehoseApp app = app().set("firehose.subunit.fetch-timeout", "2").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gearman-subunit/#")) {
            String jobs = app.httpUrl() + "/subunit/jobs";
            HttpResponse<String> a = post(jobs, ("{\"source_url\":\"" + base + "/a/testrepository.subunit\",\"build_uuid\":\"aaa\","
                    + "\"project\":\"openstack/nova\",\"build_change\":\"111\",\"voting\":false}").getBytes(StandardCharsets.UTF_8));
            assertEquals(200, a.statusCode(), a.body());
            Subscriber.Received first = subscriber.next(WAIT);
            assertEquals("gearman-subunit/firehose01/openstack/nova/111", first.topic());
            JsonNode event = json(first);
            assertEquals(200, event.get("tests").get("total").intValue(), "the .gz was fetched");
            assertEquals(base + "/a/testrepository.subunit", event.get("source_url").textValue());
            assertEquals("aaa", event.get("build_uuid").textValue());
            assertFalse(event.get("voting").booleanValue());

            HttpResponse<String> b = post(jobs, ("{\"source_url\":\"" + base + "/b/testrepository.subunit\",\"build_uuid\":\"bbb\"}")
                    .getBytes(StandardCharsets.UTF_8));
            assertEquals(200, b.statusCode(), b.body());
            assertEquals(21, json(subscriber.next(WAIT)).get("tests").get("total").intValue(), "no .gz: the plain file");

            assertError(post(jobs, ("{\"source_url\":\"" + base + "/c/missing.subunit\"}").getBytes(StandardCharsets.UTF_8)), 502, "HTTP 404");
            assertError(post(jobs, ("{\"source_url\":\"" + base + "/c/broken.subunit\"}").getBytes(StandardCharsets.UTF_8)), 422, "truncated stream");
            int closed = FirehoseApp.freePort();
            assertError(post(jobs, ("{\"source_url\":\"http://127.0.0.1:" + closed + "/x.subunit\"}").getBytes(StandardCharsets.UTF_8)), 502, "cannot connect");
            assertError(post(jobs, ("{\"source_url\":\"" + base + "/stall/x.subunit\"}").getBytes(StandardCharsets.UTF_8)), 502, "no data for 2.0 s");
            release.countDown();
            assertError(post(jobs, "{\"build_uuid\":\"ccc\"}".getBytes(StandardCharsets.UTF_8)), 400, "no source_url");
            assertError(post(jobs, "{\"source_url\":".getBytes(StandardCharsets.UTF_8)), 400, "not JSON");
            assertError(post(jobs, "{\"source_url\":\"file:///etc/passwd\"}".getBytes(StandardCharsets.UTF_8)), 400, "http or https");
            assertNull(subscriber.poll(Duration.ofMillis(300)), "nothing more published");
        } finally {
            release.countDown();
            logs.stop(0);
        }
    }
}
