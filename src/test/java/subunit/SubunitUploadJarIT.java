package subunit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import firehose.Await;
import firehose.FatJar;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fat jar with a 128 MB heap takes a 200 MB upload on POST /subunit: the body is streamed through the parser. */
class SubunitUploadJarIT {

    @TempDir
    Path dir;

    @Test
    void should_take_a_200_mb_upload_in_a_128_mb_heap() throws Exception {
        int mqtt = FirehoseApp.freePort();
        int http = FirehoseApp.freePort();
        int management = FirehoseApp.freePort();
        Process process = FatJar.start(dir, List.of("-Xmx128m",
                "-Dfirehose.broker.host=127.0.0.1", "-Dfirehose.broker.mqtt-port=" + mqtt, "-Dfirehose.broker.ws-port=0",
                "-Dcamel.management.port=" + management, "-Dcamel.server.port=" + http, "-Dcamel.server.host=127.0.0.1",
                "-Dfirehose.subunit.worker=w1"));
        try {
            // ready, not only listening: the HTTP server accepts before the routes behind it are added (404 until then)
            Await.until(Duration.ofSeconds(60), () -> FatJar.status(management, "/observe/health") == 200 || !process.isAlive(), () -> "not ready: " + FatJar.output(dir));
            byte[] run = Files.readAllBytes(Path.of("src/test/resources/subunit/mixed.subunit"));
            int copies = 200_000_000 / run.length + 1;
            try (Subscriber subscriber = Subscriber.on("tcp://127.0.0.1:" + mqtt, "gearman-subunit/#")) {
                HttpResponse<String> response = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/subunit?project=big&build_change=1"))
                                .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/octet-stream")
                                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new Repeated(run, copies))).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, response.statusCode(), response.body() + FatJar.output(dir));
                JsonNode event = new ObjectMapper().readTree(subscriber.next(Duration.ofSeconds(30)).payload());
                assertEquals(200L * copies, event.get("tests").get("total").longValue());
            }
            assertTrue(process.isAlive(), FatJar.output(dir));
            assertTrue(!FatJar.output(dir).contains("OutOfMemoryError"), FatJar.output(dir));
        } finally {
            process.destroy();
            assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        }
    }


    /** The same bytes {@code copies} times, produced as read. */
    private static final class Repeated extends InputStream {
        private final byte[] run;
        private int left;
        private int pos;

        Repeated(byte[] run, int copies) {
            this.run = run;
            this.left = copies;
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (left == 0) {
                return -1;
            }
            int n = Math.min(len, run.length - pos);
            System.arraycopy(run, pos, b, off, n);
            pos += n;
            if (pos == run.length) {
                pos = 0;
                left--;
            }
            return n;
        }
    }
}
