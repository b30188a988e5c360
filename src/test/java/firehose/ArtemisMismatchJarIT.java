package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged application on an Artemis other than the one it was built against stops before any listener opens,
 * with one line saying why. The jar is run with a class path whose first entry says it was built against another
 * version (the check reads the first {@code firehose-build.properties} on the class path).
 */
class ArtemisMismatchJarIT {

    @TempDir
    Path dir;

    @Test
    void another_artemis_stops_the_start_before_any_listener_with_one_line() throws Exception {
        Path build = Files.createDirectories(dir.resolve("build"));
        Files.writeString(build.resolve("firehose-build.properties"), "artemis.version=9.9.9\n");
        int mqtt = FirehoseApp.freePort();
        int ws = FirehoseApp.freePort();
        List<String> command = new ArrayList<>(List.of(FatJar.java(), "-Xmx256m",
                "-Dfirehose.broker.mqtt-port=" + mqtt, "-Dfirehose.broker.ws-port=" + ws,
                "-Dcamel.management.port=" + FirehoseApp.freePort(), "-Dcamel.server.port=" + FirehoseApp.freePort(),
                "-cp", build + java.io.File.pathSeparator + Path.of("target", "firehose.jar").toAbsolutePath(), "firehose.Firehose"));
        Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(FatJar.log(dir).toFile()).start();
        int accepted = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try {
            // every 20 ms until the process ends: a listener opened even for a moment is likely to be met
            while (process.isAlive() && System.nanoTime() < deadline) {
                accepted += accepts(mqtt) + accepts(ws);
                process.waitFor(20, TimeUnit.MILLISECONDS);
            }
            assertFalse(process.isAlive(), () -> "still running after 60 s: " + FatJar.output(dir));
        } finally {
            process.destroyForcibly();
        }
        String output = FatJar.output(dir);
        assertEquals(1, process.exitValue(), output);
        assertEquals(0, accepted, "connections accepted before the start was stopped: " + output);
        List<String> lines = output.lines().filter(l -> l.contains("Firehose could not start")).toList();
        assertEquals(1, lines.size(), output);
        assertTrue(lines.get(0).contains("Firehose could not start: Artemis 2.55.0 is on the class path, but Firehose was built against 9.9.9"),
                output);
        assertFalse(output.contains("Broker listening"), output);
        assertFalse(output.lines().anyMatch(l -> l.startsWith("\tat ") || l.startsWith("Caused by")), "no stack trace: " + output);
    }

    private static int accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 50);
            return 1;
        } catch (IOException refused) {
            return 0; // nothing listens: what the test expects
        }
    }
}
