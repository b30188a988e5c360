package subunit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import firehose.ExternalTool;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's upload and job examples as curl sends them: with their Content-Type, and without (curl's form default). */
class SubunitCurlIT {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path CURL = Path.of("/usr/bin/curl");

    @TempDir
    Path data;

    @Test
    void uploads_and_jobs_are_read_as_sent_with_or_without_a_content_type() throws Exception {
        ExternalTool.require(CURL.toString(), "--version");
        Path stream = SubunitSummaryTest.STREAMS.resolve("mixed.subunit");
        HttpServer logs = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        logs.createContext("/", exchange -> {
            byte[] body = exchange.getRequestURI().getPath().endsWith("/testrepository.subunit") ? Files.readAllBytes(stream) : null;
            exchange.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
            if (body != null) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
            exchange.close();
        });
        logs.start();
        String source = "http://127.0.0.1:" + logs.getAddress().getPort();
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").set("firehose.subunit.worker", "vm").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gearman-subunit/#")) {
            String upload = app.httpUrl() + "/subunit?build_uuid=5b0a8ff3&project=openstack/nova&build_change=%s&build_name=tempest-full";
            String job = "{\"source_url\": \"" + source + "/%s/testrepository.subunit\", \"build_uuid\": \"5b0a8ff3\", "
                    + "\"project\": \"openstack/nova\", \"build_change\": \"%s\", \"voting\": true}";
            List<String> changes = new ArrayList<>();

            // the README's examples, verbatim but for host and file
            assertPublished(curl("-H", "Content-Type: application/octet-stream", "--data-binary", "@" + stream, upload.formatted("1")), changes, "1");
            assertPublished(curl("-H", "Content-Type: application/json", "--data", job.formatted("a", "2"), app.httpUrl() + "/subunit/jobs"), changes, "2");
            // and without -H: curl then says application/x-www-form-urlencoded
            assertPublished(curl("--data-binary", "@" + stream, upload.formatted("3")), changes, "3");
            assertPublished(curl("--data", job.formatted("b", "4"), app.httpUrl() + "/subunit/jobs"), changes, "4");
            assertPublished(curl("-H", "Content-Type: text/plain", "--data-binary", "@" + stream, upload.formatted("5")), changes, "5");

            for (String change : changes) {
                assertEquals("gearman-subunit/vm/openstack/nova/" + change, subscriber.next(WAIT).topic());
            }

            // a multipart form is refused with what to send instead
            Response form = curl("-F", "file=@" + stream, upload.formatted("6"));
            assertEquals(415, form.status(), form.body());
            assertTrue(form.body().contains("--data-binary"), form.body());
        } finally {
            logs.stop(0);
        }
    }

    private record Response(int status, String body) {
    }

    /** Runs curl; the status comes from {@code -w}, after the body. */
    private static Response curl(String... args) {
        List<String> command = new ArrayList<>(List.of(CURL.toString(), "-s", "-w", "\n%{http_code}"));
        command.addAll(List.of(args));
        ExternalTool.Result result = ExternalTool.run(Duration.ofSeconds(30), command);
        assertEquals(0, result.exitCode(), result.err());
        int end = result.out().lastIndexOf('\n');
        return new Response(Integer.parseInt(result.out().substring(end + 1).strip()), result.out().substring(0, end));
    }

    private static void assertPublished(Response response, List<String> changes, String change) throws Exception {
        assertEquals(200, response.status(), response.body());
        JsonNode answer = JSON.readTree(response.body());
        assertTrue(answer.get("published").booleanValue(), response.body());
        assertEquals(200, answer.get("event").get("tests").get("total").intValue(), response.body());
        changes.add(change);
    }
}
