package firehose;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The packaged application, started as a user would ({@code java [options] -jar target/firehose.jar}) in a directory,
 * on the java {@link #java()} names: this JVM's own, or another one (CI's Java 25 run: {@code FIREHOSE_JAVA}).
 */
public final class FatJar {

    private FatJar() {
    }

    /** Starts the jar in {@code dir} with the JVM options given; its output goes to {@code dir/firehose.log}. */
    public static Process start(Path dir, List<String> jvmOptions) throws IOException {
        Path jar = Path.of("target", "firehose.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), "run after mvn package");
        List<String> command = new ArrayList<>();
        command.add(java());
        command.addAll(jvmOptions);
        command.add("-jar");
        command.add(jar.toString());
        return new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log(dir).toFile()).start();
    }

    /**
     * The java the jar runs on: the system property {@code firehose.java}, else the environment variable
     * {@code FIREHOSE_JAVA} (the one bin/firehose reads too), else the java of this JVM.
     */
    public static String java() {
        String java = System.getProperty("firehose.java", System.getenv("FIREHOSE_JAVA"));
        return java == null || java.isBlank() ? Path.of(System.getProperty("java.home"), "bin", "java").toString() : java;
    }

    public static Path log(Path dir) {
        return dir.resolve("firehose.log");
    }

    /** The HTTP status of GET {@code path} on a local port; -1 while nothing answers there. */
    public static int status(int port, String path) {
        try {
            return java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path))
                            .timeout(java.time.Duration.ofSeconds(2)).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** What the application wrote so far. */
    public static String output(Path dir) {
        try {
            return Files.readString(log(dir));
        } catch (IOException e) {
            return e.toString();
        }
    }
}
