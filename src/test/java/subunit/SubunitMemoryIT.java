package subunit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** A 200 MB stream parsed by a JVM with a 24 MB heap: the parser holds one buffer, never the stream or its attachments. */
class SubunitMemoryIT {

    @Test
    void should_parse_200_mb_in_a_24_mb_heap() throws Exception {
        byte[] run = Files.readAllBytes(Path.of("src/test/resources/subunit/mixed.subunit")); // 55,885 bytes, 200 tests
        int copies = 200_000_000 / run.length + 1;
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(List.of(java, "-Xmx24m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                "subunit.SubunitSummary")).start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(child.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(child.getErrorStream()));
        try (OutputStream in = child.getOutputStream()) {
            for (int i = 0; i < copies; i++) {
                in.write(run);
            }
        }
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "finished");
        assertEquals(0, child.exitValue(), err.join());
        JsonNode summary = new ObjectMapper().readTree(out.join());
        assertEquals(200L * copies, summary.get("tests").get("total").longValue(), err.join());
        assertEquals(7L * copies, summary.get("tests").get("failed").longValue());
        assertTrue(err.join().contains(" " + (long) run.length * copies + " bytes"), err.join());
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
