package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's run command: {@code java -Xmx768m -Xmn256m -jar target/firehose.jar} starts everything and stops cleanly on a signal. */
class StartStopJarIT {

    @TempDir
    Path dir;

    @Test
    void fat_jar_starts_with_embedded_defaults_serves_mqtt_and_stops_cleanly_on_sigterm() throws Exception {
        int mqtt = FirehoseApp.freePort();
        int management = FirehoseApp.freePort();
        List<String> options = List.of(
                "-Xmx768m",
                "-Xmn256m",
                "-Dfirehose.broker.mqtt-port=" + mqtt,
                "-Dfirehose.broker.ws-port=" + FirehoseApp.freePort(),
                "-Dcamel.management.port=" + management,
                "-Dcamel.server.port=" + FirehoseApp.freePort(),
                "-Dfirehose.broker.sys-interval=1",
                // a Gerrit route given with -D (camel-main alone would only take it from a file); nothing listens there
                "-Dcamel.route-template[review].template-id=gerrit",
                "-Dcamel.route-template[review].host=127.0.0.1",
                "-Dcamel.route-template[review].port=" + FirehoseApp.freePort(),
                "-Dcamel.route-template[review].username=firehose",
                "-Dcamel.route-template[review].key-file=" + Path.of("src/test/resources/gerrit/keys/id_ed25519").toAbsolutePath(),
                "-Dcamel.route-template[review].known-hosts=" + dir.resolve("known_hosts"));
        // data under ./data of the working directory, as for a user
        Process process = FatJar.start(dir, options);
        try {
            Await.until(Duration.ofSeconds(60), () -> FatJar.status(management, "/observe/health/live") == 200 || !process.isAlive(),
                    () -> "not alive: " + FatJar.output(dir));
            assertTrue(process.isAlive(), () -> "exited: " + FatJar.output(dir));
            try (Subscriber sys = Subscriber.on("tcp://127.0.0.1:" + mqtt, "$SYS/broker/version")) {
                assertTrue(sys.next(Duration.ofSeconds(15)).payload().startsWith("firehose version"));
            }
            assertTrue(Files.isDirectory(dir.resolve("data").resolve("journal")), "journal under ./data");
            assertEquals(503, FatJar.status(management, "/observe/health"), "the Gerrit route from -D exists and is DOWN");
        } finally {
            process.destroy(); // SIGTERM, what Ctrl-C and `kubectl delete` amount to
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "stopped within 30 s");
        }
        String output = FatJar.output(dir);
        assertTrue(output.contains("Broker stopped"), output);
        assertTrue(output.contains("firehose) shutdown"), output);
        assertFalse(output.lines().anyMatch(l -> l.startsWith("\tat ") || l.startsWith("Exception in thread")), "no stack trace: " + output);
        assertEquals(List.of(), output.lines().filter(l -> l.contains(" ERROR ")
                || l.contains(" WARN ") && !l.contains("GerritStreamConsumer")).toList());
    }

    @Test
    void a_sigterm_while_starting_stops_the_broker_too() throws Exception {
        // the broker listens before the routes are built and started: about a second in which Camel has not started; a
        // slow or busy machine may still finish the start first, and then the stop tried is another one: tried again
        String output = "";
        for (int attempt = 1; attempt <= 3; attempt++) {
            output = sigtermOnceListening(dir.resolve("starting-" + attempt));
            if (!output.contains(") started in")) {
                break;
            }
        }
        assertFalse(output.contains(") started in"), "the SIGTERM came after the start-up, three times: " + output);
        assertTrue(output.contains("Broker stopped"), output);
        assertEquals(List.of(), output.lines().filter(l -> l.contains(" ERROR ") || l.startsWith("\tat ")).toList(), output);
    }

    /** Starts the jar in {@code home}, sends SIGTERM once the broker listens, and returns what the jar printed. */
    private static String sigtermOnceListening(Path home) throws Exception {
        Files.createDirectories(home);
        Process process = FatJar.start(home, List.of("-Xmx256m", "-Dfirehose.broker.host=127.0.0.1",
                "-Dfirehose.broker.mqtt-port=" + FirehoseApp.freePort(), "-Dfirehose.broker.ws-port=0",
                "-Dcamel.server.port=" + FirehoseApp.freePort(), "-Dcamel.management.port=" + FirehoseApp.freePort()));
        try {
            Await.until(Duration.ofSeconds(60), () -> FatJar.output(home).contains("Broker listening") || !process.isAlive(),
                    () -> FatJar.output(home));
            process.destroy(); // SIGTERM
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "stopped within 30 s: " + FatJar.output(home));
        } finally {
            process.destroyForcibly();
        }
        return FatJar.output(home);
    }

}
