package deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/firehose: the heap from the container's memory limit when there is one, else the fixed 768 MiB. */
class LauncherTest {

    @TempDir
    Path dir;

    private String command(String limit) throws Exception {
        Path file = dir.resolve("memory.max");
        Files.writeString(file, limit + "\n");
        ProcessBuilder launcher = new ProcessBuilder(Path.of("bin/firehose").toAbsolutePath().toString(), "-pl", "file:/etc/x.properties");
        launcher.environment().put("FIREHOSE_DRY_RUN", "1");
        launcher.environment().put("FIREHOSE_CGROUP_MEMORY", file.toString());
        launcher.environment().put("FIREHOSE_JAR", "/opt/firehose/firehose.jar");
        launcher.environment().put("JAVA_OPTS", "-Dfirehose.broker.mqtt-port=1884");
        Process process = launcher.redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes()).strip();
        assertEquals(0, process.waitFor());
        return out;
    }

    @Test
    void outside_a_container_the_heap_is_768_mib() throws Exception {
        assertEquals("java -Xmx768m -Xmn256m -XX:+ExitOnOutOfMemoryError -Dfirehose.broker.mqtt-port=1884 -jar /opt/firehose/firehose.jar"
                + " -pl file:/etc/x.properties", command("max"));
        // cgroup v1 without a limit reads as a number near 2^63
        assertEquals(command("max"), command("9223372036854771712"));
    }

    @Test
    void in_a_container_with_a_limit_the_heap_follows_it() throws Exception {
        assertEquals("java -XX:MaxRAMPercentage=75 -XX:NewRatio=2 -XX:+ExitOnOutOfMemoryError -Dfirehose.broker.mqtt-port=1884"
                + " -jar /opt/firehose/firehose.jar -pl file:/etc/x.properties", command("2147483648"));
    }
}
