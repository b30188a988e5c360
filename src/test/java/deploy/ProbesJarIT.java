package deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import firehose.Await;
import firehose.ExternalTool;
import firehose.FatJar;
import firehose.FirehoseApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The probes of the StatefulSet, asked of the application started as the image starts it (bin/firehose): each answers
 * 200 once it runs, and readiness is never 200 while the broker does not accept MQTT connections.
 */
class ProbesJarIT {

    @TempDir
    Path dir;

    @Test
    void the_manifests_probes_answer_and_readiness_waits_for_the_broker() throws Exception {
        ExternalTool.require("/usr/bin/kubectl", "version", "--client");
        ExternalTool.Result rendered = ExternalTool.run(Duration.ofSeconds(60), "/usr/bin/kubectl", "kustomize", "k8s");
        assertEquals(0, rendered.exitCode(), rendered.err());
        Map<String, String> probes = new LinkedHashMap<>();
        for (Object document : new Load(LoadSettings.builder().build()).loadAllFromString(rendered.out())) {
            Map<String, Object> object = map(document);
            if (object != null && "StatefulSet".equals(object.get("kind"))) {
                Map<String, Object> container = map(((List<?>) map(map(map(object.get("spec")).get("template")).get("spec")).get("containers")).get(0));
                for (String name : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
                    Map<String, Object> get = map(map(container.get(name)).get("httpGet"));
                    assertEquals("management", get.get("port"), name);
                    probes.put(name, (String) get.get("path"));
                }
            }
        }
        assertEquals(3, probes.size(), rendered.out());

        int mqtt = FirehoseApp.freePort();
        int management = FirehoseApp.freePort();
        ProcessBuilder launcher = new ProcessBuilder(Path.of("bin/firehose").toAbsolutePath().toString())
                .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("firehose.log").toFile());
        launcher.environment().put("FIREHOSE_JAR", Path.of("target/firehose.jar").toAbsolutePath().toString());
        launcher.environment().put("FIREHOSE_JAVA", FatJar.java());
        launcher.environment().put("JAVA_OPTS", String.join(" ", "-Dfirehose.broker.host=127.0.0.1", "-Dfirehose.broker.mqtt-port=" + mqtt,
                "-Dfirehose.broker.ws-port=0", "-Dcamel.server.port=" + FirehoseApp.freePort(), "-Dcamel.server.host=127.0.0.1",
                "-Dcamel.management.port=" + management, "-Dcamel.management.host=127.0.0.1"));
        Process process = launcher.start();
        List<String> early = new ArrayList<>();
        try {
            // from the first moment: a readiness answer of 200 while MQTT is not accepted would be a lie
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && process.isAlive()) {
                int ready = FatJar.status(management, probes.get("readinessProbe"));
                boolean accepting = accepts(mqtt);
                if (ready == 200) {
                    assertTrue(accepting, "ready before the broker accepts connections");
                    break;
                }
                early.add(ready + (accepting ? " (mqtt up)" : ""));
                Thread.sleep(10);
            }
            assertTrue(process.isAlive(), log());
            for (Map.Entry<String, String> entry : probes.entrySet()) {
                Await.until(Duration.ofSeconds(30), () -> FatJar.status(management, entry.getValue()) == 200, () -> entry + " not 200: " + log());
            }
            assertTrue(early.stream().noneMatch(s -> s.startsWith("200")), early.toString());
        } finally {
            process.destroy();
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "stopped on SIGTERM");
        }
        String log = log();
        assertTrue(log.contains("Broker stopped"), log);
        // the launcher's JVM options reached the JVM: the heap is the one bin/firehose sets outside a container
        assertTrue(Files.readString(Path.of("bin/firehose")).contains("-Xmx768m -Xmn256m"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return (Map<String, Object>) value;
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("firehose.log"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

}
