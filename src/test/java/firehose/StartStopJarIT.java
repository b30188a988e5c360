package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's run command: {@code java -jar target/firehose.jar} starts everything and stops cleanly on a signal. */
class StartStopJarIT {

    @TempDir
    Path dir;

    @Test
    void fat_jar_starts_with_embedded_defaults_serves_mqtt_and_stops_cleanly_on_sigterm() throws Exception {
        Path jar = Path.of("target", "firehose.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), "run after mvn package");
        int mqtt = FirehoseApp.freePort();
        int management = FirehoseApp.freePort();
        Path log = dir.resolve("firehose.log");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dfirehose.broker.mqtt-port=" + mqtt,
                "-Dfirehose.broker.ws-port=" + FirehoseApp.freePort(),
                "-Dcamel.management.port=" + management,
                "-Dfirehose.broker.sys-interval=1",
                "-jar", jar.toString()));
        // data under ./data of the working directory, as for a user
        Process process = new ProcessBuilder(command).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Await.until(Duration.ofSeconds(60), () -> healthUp(management) || !process.isAlive(),
                    () -> "not healthy: " + read(log));
            assertTrue(process.isAlive(), () -> "exited: " + read(log));
            try (Subscriber sys = Subscriber.on("tcp://127.0.0.1:" + mqtt, "$SYS/broker/version")) {
                assertTrue(sys.next(Duration.ofSeconds(15)).payload().startsWith("firehose version"));
            }
            assertTrue(Files.isDirectory(dir.resolve("data").resolve("journal")), "journal under ./data");
        } finally {
            process.destroy(); // SIGTERM, what Ctrl-C and `kubectl delete` amount to
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "stopped within 30 s");
        }
        String output = read(log);
        assertTrue(output.contains("Broker stopped"), output);
        assertTrue(output.contains("firehose) shutdown"), output);
        assertFalse(output.contains("Exception"), output);
        assertEquals(List.of(), output.lines().filter(l -> l.contains(" ERROR ") || l.contains(" WARN ")).toList());
    }

    private static boolean healthUp(int port) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/observe/health"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
