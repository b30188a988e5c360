package deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import firehose.Await;
import firehose.Browser;
import firehose.Clients;
import firehose.FatJar;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * What the container image does, here: bin/firehose-train (the Containerfile's training step, with fewer clients)
 * makes the AOT cache beside a copy of the fat jar, and bin/firehose (the image's entrypoint) starts Firehose on it
 * with -XX:AOTMode=on, so that the JVM refuses to start unless it uses the cache; the broker it started then serves
 * MQTT over TCP and over WebSocket, and the live viewer in a browser shows an event. The java is {@link FatJar#java()}:
 * CI's Java 25 run names Temurin 25 with FIREHOSE_JAVA. On an older java the training script must refuse, and the same
 * start is checked without a cache.
 */
class AotCacheJarIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String PUBLISHER = "aot-test";
    private static final String PASSWORD = "aot-test-secret-5519";

    @TempDir
    Path dir;

    @Test
    void the_trained_cache_starts_firehose_serving_tcp_websocket_and_the_viewer() throws Exception {
        String java = FatJar.java();
        boolean java25 = feature(java) >= 25;
        Path jar = Files.createDirectories(dir.resolve("opt")).resolve("firehose.jar");
        Files.copy(Path.of("target/firehose.jar"), jar, StandardCopyOption.COPY_ATTRIBUTES);
        Path cache = dir.resolve("opt/firehose.aot");

        // the training step
        ProcessBuilder training = new ProcessBuilder(Path.of("bin/firehose-train").toAbsolutePath().toString()).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(dir.resolve("train.log").toFile());
        training.environment().put("FIREHOSE_JAVA", java);
        training.environment().put("FIREHOSE_JAR", jar.toString());
        training.environment().put("FIREHOSE_TRAIN_CLIENTS", "400");
        training.environment().put("FIREHOSE_TRAIN_PORT", String.valueOf(fourFreePorts()));
        training.environment().remove("JAVA_OPTS");
        Process trainer = training.start();
        assertTrue(trainer.waitFor(5, TimeUnit.MINUTES), "training did not end: " + read(dir.resolve("train.log")));
        String trainLog = read(dir.resolve("train.log"));
        if (java25) {
            assertEquals(0, trainer.exitValue(), trainLog);
            assertTrue(Files.size(cache) > 1_000_000, trainLog);
            assertTrue(trainLog.contains("check: started on the cache (-XX:AOTMode=on)"), trainLog);
            assertTrue(Files.readString(dir.resolve("opt/firehose.aot.record")).startsWith("jar " + jar.toRealPath() + " "), trainLog);
        } else {
            assertNotEquals(0, trainer.exitValue(), trainLog);
            assertTrue(trainLog.contains("FIREHOSE_AOT=train needs Java 25 or later"), trainLog);
            assertFalse(Files.exists(cache), "no cache from " + java);
        }

        // the entrypoint
        int mqtt = FirehoseApp.freePort();
        int ws = FirehoseApp.freePort();
        int http = FirehoseApp.freePort();
        int management = FirehoseApp.freePort();
        List<String> options = new ArrayList<>(List.of("-Dfirehose.broker.host=127.0.0.1", "-Dfirehose.broker.mqtt-port=" + mqtt,
                "-Dfirehose.broker.ws-port=" + ws, "-Dcamel.server.host=127.0.0.1", "-Dcamel.server.port=" + http,
                "-Dcamel.management.host=127.0.0.1", "-Dcamel.management.port=" + management, "-Dfirehose.broker.sys-interval=0",
                "-Dfirehose.broker.data-dir=" + dir.resolve("data"), "-Dfirehose.publisher[" + PUBLISHER + "].password=" + PASSWORD,
                "-Dfirehose.publisher[" + PUBLISHER + "].topics=ansible/#"));
        if (java25) {
            options.add("-XX:AOTMode=on");
        }
        ProcessBuilder launcher = new ProcessBuilder(Path.of("bin/firehose").toAbsolutePath().toString()).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(FatJar.log(dir).toFile());
        launcher.environment().put("FIREHOSE_JAVA", java);
        launcher.environment().put("FIREHOSE_JAR", jar.toString());
        launcher.environment().put("JAVA_OPTS", String.join(" ", options));
        launcher.environment().remove("FIREHOSE_AOT");
        Process process = launcher.start();
        try {
            Await.until(WAIT, () -> FatJar.status(management, "/observe/health/ready") == 200 || !process.isAlive(),
                    () -> "not ready: " + FatJar.output(dir));
            assertTrue(process.isAlive(), () -> "exited: " + FatJar.output(dir));
            // the launcher exec'ed the JVM: its command line is the process's own
            List<String> command = List.of(Files.readString(Path.of("/proc/" + process.pid() + "/cmdline")).split("\0"));
            assertEquals(java, command.get(0));
            assertEquals(java25, command.contains("-XX:AOTCache=" + cache), command.toString());
            assertFalse(FatJar.output(dir).contains("firehose: AOT cache"), FatJar.output(dir));

            try (Subscriber tcp = Subscriber.on("tcp://127.0.0.1:" + mqtt, "ansible/#");
                 Subscriber websocket = Subscriber.on("ws://127.0.0.1:" + ws + "/mqtt", "ansible/#")) {
                ChromeDriver browser = Browser.open(1200, 900);
                try {
                    browser.get("http://127.0.0.1:" + http + "/");
                    new WebDriverWait(browser, WAIT).until(d -> "#".equals(d.findElement(By.tagName("body")).getAttribute("data-subscribed")));
                    MqttClient publisher = Clients.connect("tcp://127.0.0.1:" + mqtt, PUBLISHER, PASSWORD);
                    try {
                        Clients.publish(publisher, "ansible/playbook/7/start", "{\"host\":\"node-7\"}", 1, false);
                    } finally {
                        Clients.close(publisher);
                    }
                    assertEquals("ansible/playbook/7/start", tcp.next(WAIT).topic());
                    Subscriber.Received overWebSocket = websocket.next(WAIT);
                    assertEquals("ansible/playbook/7/start", overWebSocket.topic());
                    assertEquals("{\"host\":\"node-7\"}", overWebSocket.payload());
                    new WebDriverWait(browser, WAIT).until(d -> d.findElements(By.cssSelector("#events > li .topic")).stream()
                            .anyMatch(e -> "ansible/playbook/7/start".equals(e.getAttribute("textContent"))));
                } finally {
                    browser.quit();
                }
            }
        } finally {
            process.destroy(); // SIGTERM, as `docker stop` sends
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "stopped on SIGTERM");
        }
        String log = FatJar.output(dir);
        assertTrue(log.contains("Broker stopped"), log);
        assertEquals(List.of(), log.lines().filter(l -> l.contains(" ERROR ") || l.contains("[error]")).toList(), log);
    }

    /** The first of four consecutive free ports (the training run's MQTT, WebSocket, HTTP and management ports). */
    private static int fourFreePorts() {
        for (int attempt = 0; attempt < 100; attempt++) {
            int first = FirehoseApp.freePort();
            boolean consecutive = true;
            for (int i = 1; i < 4 && consecutive; i++) {
                consecutive = FirehoseApp.freePort() == first + i;
            }
            if (consecutive) {
                return first;
            }
        }
        throw new IllegalStateException("no four consecutive free ports");
    }

    /** The feature version of a java command (17, 25). */
    private static int feature(String java) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(java, "-version").redirectErrorStream(true).start();
        String version = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        Matcher matcher = Pattern.compile("version \"(\\d+)").matcher(version);
        assertTrue(matcher.find(), version);
        return Integer.parseInt(matcher.group(1));
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file) : "";
    }
}
