package firehose;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Debian's MQTT tools (mosquitto_sub, mosquitto_pub, python3-paho-mqtt) run as separate processes.
 * Missing tools skip the test on a developer's machine; with -Dfirehose.interop.required=true (CI) they fail it.
 */
public final class ExternalTool {

    public record Result(int exitCode, String out, String err) {
    }

    private ExternalTool() {
    }

    /** Fails or skips unless the executable exists (and, for python, the module imports). */
    public static void require(String executable, String... check) {
        boolean present = Files.isExecutable(Path.of(executable));
        if (present && check.length > 0) {
            present = run(Duration.ofSeconds(20), prepend(executable, check)).exitCode() == 0;
        }
        if (!present) {
            String why = executable + " " + String.join(" ", check) + " is not available: apt-get install -y mosquitto-clients python3-paho-mqtt python3-subunit subunit curl";
            if (Boolean.getBoolean("firehose.interop.required")) {
                fail(why);
            }
            assumeTrue(false, why);
        }
    }

    public static Result run(Duration timeout, String... command) {
        return run(timeout, List.of(command));
    }

    public static Result run(Duration timeout, List<String> command) {
        return run(timeout, null, command);
    }

    /** Runs with {@code input} as standard input (none: empty input). */
    public static Result run(Duration timeout, Path input, List<String> command) {
        try {
            ProcessBuilder builder = new ProcessBuilder(command);
            if (input != null) {
                builder.redirectInput(input.toFile());
            }
            Process process = builder.start();
            if (input == null) {
                process.getOutputStream().close();
            }
            CompletableFuture<String> out = read(process.getInputStream());
            CompletableFuture<String> err = read(process.getErrorStream());
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor();
                return new Result(-1, out.join(), err.join() + " [killed after " + timeout + "]");
            }
            return new Result(process.exitValue(), out.join(), err.join());
        } catch (IOException e) {
            return new Result(-2, "", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-3, "", e.toString());
        }
    }

    private static CompletableFuture<String> read(java.io.InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        });
    }

    private static List<String> prepend(String first, String... rest) {
        List<String> all = new java.util.ArrayList<>();
        all.add(first);
        all.addAll(List.of(rest));
        return all;
    }
}
