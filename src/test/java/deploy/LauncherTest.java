package deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/firehose: the heap from the container's memory limit when there is one, else the fixed 768 MiB; the AOT cache
 * beside the jar, made by the launcher's own training mode on a real Java 25 and a real (small) jar, used only when
 * the running java is Java 25 or later and the cache's record matches the jar and the java, else ignored with one line.
 */
class LauncherTest {

    /** Temurin's Java 25 on this machine kind (the system property firehose.java25 names another). */
    private static final Path JAVA_25 = Path.of(System.getProperty("firehose.java25", "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"));
    /** The java of the tests (Java 17, the project's runtime). */
    private static final Path JAVA_17 = Path.of(System.getProperty("java.home"), "bin", "java");

    @TempDir
    Path dir;

    /** The Hello jar, trained once for the tests of the cache (each puts back what it changes). */
    @TempDir
    static Path shared;
    private static Path trainedJar;

    record Result(int exit, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    private Result launcher(Map<String, String> env, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(Path.of("bin/firehose").toAbsolutePath().toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        Path memory = dir.resolve("memory.max");
        if (!Files.exists(memory)) {
            Files.writeString(memory, "max\n");
        }
        builder.environment().remove("JAVA_OPTS");
        builder.environment().remove("FIREHOSE_JAVA");
        builder.environment().remove("FIREHOSE_AOT");
        builder.environment().put("FIREHOSE_CGROUP_MEMORY", memory.toString());
        builder.environment().putAll(env);
        Process process = builder.start();
        process.getOutputStream().close();
        CompletableFuture<String> out = read(process.getInputStream());
        CompletableFuture<String> err = read(process.getErrorStream());
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "bin/firehose did not end");
        return new Result(process.exitValue(), out.join().strip(), err.join().strip());
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

    private String command(String limit) throws Exception {
        Path file = dir.resolve("memory.max");
        Files.writeString(file, limit + "\n");
        Result result = launcher(Map.of("FIREHOSE_DRY_RUN", "1", "FIREHOSE_JAR", "/opt/firehose/firehose.jar",
                "JAVA_OPTS", "-Dfirehose.broker.mqtt-port=1884"), "-pl", "file:/etc/x.properties");
        assertEquals(0, result.exit(), result.err());
        assertEquals("", result.err());
        return result.out();
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

    // ---- the AOT cache ----

    /** A jar whose main class prints "hello" and the Java version it runs on. */
    private static Path helloJar(Path dir) throws IOException {
        Path source = Files.createDirectories(dir.resolve("src")).resolve("Hello.java");
        Files.writeString(source, "public class Hello { public static void main(String[] a) { System.out.println(\"hello \" + Runtime.version()); } }");
        Path classes = Files.createDirectories(dir.resolve("classes"));
        assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, "--release", "17", "-d", classes.toString(), source.toString()));
        Path jar = Files.createDirectories(dir.resolve("app")).resolve("firehose.jar");
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "Hello");
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file, manifest)) {
            out.putNextEntry(new JarEntry("Hello.class"));
            out.write(Files.readAllBytes(classes.resolve("Hello.class")));
            out.closeEntry();
        }
        return jar;
    }

    private static Path java25() {
        assumeTrue(Files.isExecutable(JAVA_25), "no Java 25 at " + JAVA_25 + " (-Dfirehose.java25=...)");
        return JAVA_25;
    }

    private static Map<String, String> env(Path java, Path jar, String... more) {
        Map<String, String> env = new HashMap<>(Map.of("FIREHOSE_JAVA", java.toString(), "FIREHOSE_JAR", jar.toString()));
        for (int i = 0; i < more.length; i += 2) {
            env.put(more[i], more[i + 1]);
        }
        return env;
    }

    /** The jar, with its cache made by a real training run of the launcher on Java 25 (once). */
    private Path trained() throws Exception {
        java25();
        if (trainedJar == null) {
            Path jar = helloJar(shared);
            Result training = launcher(env(JAVA_25, jar, "FIREHOSE_AOT", "train"));
            assertEquals(0, training.exit(), training.err());
            assertTrue(training.out().startsWith("hello 25"), training.out());
            assertTrue(Files.size(jar.resolveSibling("firehose.aot")) > 0, training.err());
            trainedJar = jar;
        }
        return trainedJar;
    }

    @Test
    void on_java_25_the_training_mode_makes_a_cache_beside_the_jar_with_a_record_of_the_jar_and_the_java() throws Exception {
        Path jar = trained();
        List<String> record = Files.readAllLines(jar.resolveSibling("firehose.aot.record"));
        assertEquals(2, record.size(), record.toString());
        assertTrue(record.get(0).startsWith("jar " + jar.toRealPath() + " " + Files.size(jar) + " "), record.toString());
        String version = run(JAVA_25.toString(), "-version").lines().skip(1).findFirst().orElseThrow();
        assertTrue(record.get(1).startsWith("java " + JAVA_25.toRealPath() + " ") && version.contains("(build " + record.get(1).split(" ")[2] + ")"),
                record + " / " + version);
        // the dry run of the training mode says what it would run, and writes nothing
        Path recordFile = jar.resolveSibling("firehose.aot.record");
        byte[] kept = Files.readAllBytes(recordFile);
        Files.delete(recordFile);
        try {
            Result dry = launcher(env(JAVA_25, jar, "FIREHOSE_AOT", "train", "FIREHOSE_DRY_RUN", "1"));
            assertEquals(JAVA_25 + " -Xmx768m -Xmn256m -XX:+ExitOnOutOfMemoryError -XX:AOTCacheOutput=" + jar.resolveSibling("firehose.aot")
                    + " -jar " + jar, dry.out());
            assertFalse(Files.exists(recordFile));
        } finally {
            Files.write(recordFile, kept);
        }
    }

    @Test
    void on_java_25_a_matching_cache_is_used_and_the_jvm_can_use_it() throws Exception {
        Path jar = trained();
        Result dry = launcher(env(JAVA_25, jar, "FIREHOSE_DRY_RUN", "1", "JAVA_OPTS", "-Dx=1"));
        assertEquals(JAVA_25 + " -Xmx768m -Xmn256m -XX:+ExitOnOutOfMemoryError -XX:AOTCache=" + jar.resolveSibling("firehose.aot")
                + " -Dx=1 -jar " + jar, dry.out());
        assertEquals("", dry.err());
        // -XX:AOTMode=on: the JVM refuses to start unless it can use the cache the launcher gave it
        Result run = launcher(env(JAVA_25, jar, "JAVA_OPTS", "-XX:AOTMode=on"));
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().startsWith("hello 25"), run.out());
        assertFalse(run.err().contains("[error]"), run.err());
        // FIREHOSE_AOT=off, or an AOT cache option of one's own: the launcher adds none
        assertFalse(launcher(env(JAVA_25, jar, "FIREHOSE_DRY_RUN", "1", "FIREHOSE_AOT", "off")).out().contains("AOT"));
        Result own = launcher(env(JAVA_25, jar, "FIREHOSE_DRY_RUN", "1", "JAVA_OPTS", "-XX:AOTCache=/elsewhere.aot"));
        assertEquals(JAVA_25 + " -Xmx768m -Xmn256m -XX:+ExitOnOutOfMemoryError -XX:AOTCache=/elsewhere.aot -jar " + jar, own.out());
    }

    @Test
    void a_cache_made_for_another_jar_is_ignored_with_one_line() throws Exception {
        Path jar = trained();
        FileTime made = Files.getLastModifiedTime(jar);
        Path recordFile = jar.resolveSibling("firehose.aot.record");
        byte[] kept = Files.readAllBytes(recordFile);
        try {
            ignoredWhenNotMatching(jar, made, recordFile);
        } finally {
            Files.setLastModifiedTime(jar, made);
            Files.write(recordFile, kept);
        }
    }

    private void ignoredWhenNotMatching(Path jar, FileTime made, Path recordFile) throws Exception {
        // a rebuilt jar: same path and size, another modification time
        Files.setLastModifiedTime(jar, FileTime.fromMillis(made.toMillis() + 1_000));
        Result dry = launcher(env(JAVA_25, jar, "FIREHOSE_DRY_RUN", "1"));
        assertFalse(dry.out().contains("AOT"), dry.out());
        assertEquals(1, dry.errLines().size(), dry.err());
        assertTrue(dry.err().startsWith("firehose: AOT cache " + jar.resolveSibling("firehose.aot") + " not used: made for the jar "), dry.err());
        // and really run: the JVM is not given the cache, so it has nothing to say about it either
        Result run = launcher(env(JAVA_25, jar));
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().startsWith("hello 25"), run.out());
        assertEquals(dry.errLines(), run.errLines());
        // the same jar as when the cache was made: used again
        Files.setLastModifiedTime(jar, made);
        assertTrue(launcher(env(JAVA_25, jar, "FIREHOSE_DRY_RUN", "1")).out().contains("-XX:AOTCache="));
        // a cache without its record: not used either
        Files.delete(recordFile);
        Result unrecorded = launcher(env(JAVA_25, jar, "FIREHOSE_DRY_RUN", "1"));
        assertFalse(unrecorded.out().contains("AOT"), unrecorded.out());
        assertEquals(1, unrecorded.errLines().size(), unrecorded.err());
        assertTrue(unrecorded.err().contains("does not say what it was made for"), unrecorded.err());
    }

    @Test
    void on_java_17_no_cache_is_used_and_none_is_made() throws Exception {
        assumeTrue(Runtime.version().feature() < 25, "the tests run on Java " + Runtime.version().feature());
        Path jar = trained();
        Result dry = launcher(env(JAVA_17, jar, "FIREHOSE_DRY_RUN", "1"));
        assertEquals(JAVA_17 + " -Xmx768m -Xmn256m -XX:+ExitOnOutOfMemoryError -jar " + jar, dry.out());
        assertEquals(1, dry.errLines().size(), dry.err());
        assertTrue(dry.err().contains("not used") && dry.err().contains("only Java 25 or later can use one"), dry.err());
        Result run = launcher(env(JAVA_17, jar));
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().startsWith("hello 17"), run.out());
        // the training mode refuses Java 17, and leaves the cache that is there as it is
        long size = Files.size(jar.resolveSibling("firehose.aot"));
        Result training = launcher(env(JAVA_17, jar, "FIREHOSE_AOT", "train"));
        assertEquals(2, training.exit());
        assertEquals("", training.out());
        assertTrue(training.err().contains("FIREHOSE_AOT=train needs Java 25 or later"), training.err());
        assertEquals(size, Files.size(jar.resolveSibling("firehose.aot")));
    }

    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        return out;
    }
}
