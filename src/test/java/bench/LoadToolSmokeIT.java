package bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import javax.tools.ToolProvider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import firehose.ExternalTool;
import firehose.FirehoseApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keeps the benchmark's load tools working: compiled from bench/java, each with one tiny scenario against the application. */
class LoadToolSmokeIT {

    @TempDir
    Path dir;

    @Test
    void the_load_tool_counts_every_delivery_over_tcp_and_websocket() throws Exception {
        JsonNode result = run(Duration.ofSeconds(60), "bench.Load", "--subscribers", "5", "--ws-subscribers", "5", "--publishers", "2",
                "--rate", "50", "--seconds", "2", "--warmup", "1");
        String line = result.toString();
        long published = result.get("published").longValue();
        assertTrue(published >= 150, line); // 2 publishers × 50/s × 2 s, give or take a tick
        assertEquals(published * 10, result.get("deliveries").longValue(), line);
        assertEquals(0, result.get("lost").longValue(), line);
        assertEquals(0, result.get("duplicates").longValue(), line);
        assertEquals(0, result.get("refused_subscriptions").longValue(), line);
        assertEquals(0, result.get("silent_subscribers").longValue(), line);
        assertEquals(0, result.get("closed_by_broker").longValue(), line);
        assertTrue(result.get("latency_p99_ms").doubleValue() > 0, line);
        double first = result.get("first_delivery_p50_ms").doubleValue();
        assertTrue(first > 0 && first <= result.get("last_delivery_p50_ms").doubleValue(), line);
        assertTrue(result.get("last_delivery_p99_ms").doubleValue() <= result.get("latency_max_ms").doubleValue(), line);
        assertTrue(result.get("broker_rss_mib").doubleValue() > 0, line);
    }

    @Test
    void the_storm_tool_connects_every_client_and_counts_what_the_others_get_while_half_drop_off() throws Exception {
        JsonNode result = run(Duration.ofSeconds(90), "bench.Storm", "--clients", "20", "--ws-clients", "20", "--parallel", "4",
                "--rate", "10", "--seconds", "2", "--leave", "20", "--storm-seconds", "3");
        String line = result.toString();
        assertEquals(40, result.get("clients").intValue(), line);
        assertTrue(result.get("published").longValue() >= 15, line); // 10/s × 2 s, give or take a tick
        for (String zero : List.of("lost", "duplicates", "closed_by_broker", "storm_lost", "storm_closed_by_broker")) {
            assertEquals(0, result.get(zero).longValue(), zero + ": " + line);
        }
        assertTrue(result.get("connect_seconds").doubleValue() > 0, line);
        assertTrue(result.get("latency_p99_ms").doubleValue() > 0, line);
        assertTrue(result.get("storm_latency_p99_ms").doubleValue() > 0, line);
        assertTrue(result.get("broker_rss_kib_per_client").doubleValue() > 0, line);
    }

    /**
     * Compiles the tools from bench/java, runs {@code tool} with {@code args} against a running application (its ports,
     * the publisher account, the broker's pid: this JVM) and returns the tool's RESULT line as JSON.
     */
    private JsonNode run(Duration timeout, String tool, String... args) throws Exception {
        Path classes = Files.createDirectories(dir.resolve("classes"));
        assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(),
                "bench/java/bench/NioSubscribers.java", "bench/java/bench/Load.java", "bench/java/bench/Storm.java"), "bench/java compiles");
        try (FirehoseApp app = FirehoseApp.builder(dir.resolve("data")).set("firehose.broker.sys-interval", "0")
                .set("firehose.publisher[bench].password", "bench-secret").set("firehose.publisher[bench].topics", "bench/#").start()) {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", classes.toString(), tool, "--port", String.valueOf(app.port("mqtt")), "--ws-port", String.valueOf(app.port("ws")),
                    "--user", "bench", "--password", "bench-secret", "--broker-pid", String.valueOf(ProcessHandle.current().pid()),
                    "--label", "smoke"));
            command.addAll(List.of(args));
            ExternalTool.Result run = ExternalTool.run(timeout, command);
            assertEquals(0, run.exitCode(), run.out() + run.err());
            String line = run.out().lines().filter(l -> l.startsWith("RESULT ")).findFirst().orElseThrow(() -> new AssertionError(run.out()));
            return new ObjectMapper().readTree(line.substring(7));
        }
    }
}
