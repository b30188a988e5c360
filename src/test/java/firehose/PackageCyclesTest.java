package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * No two packages of the main code import each other, directly or through others: a package's name tells where a
 * change goes, and a change in one never needs the other. Read from the compiled classes by the JDK's jdeps.
 */
class PackageCyclesTest {

    private static final Pattern EDGE = Pattern.compile("^\\s+(\\S+)\\s+->\\s+(\\S+)\\s+classes\\s*$");

    @Test
    void no_package_of_the_main_code_depends_on_itself_through_another() {
        Map<String, Set<String>> uses = dependencies(Path.of("target/classes"));
        // javac inlines constants, which jdeps then cannot see: the sources' imports count too
        imports(Path.of("src/main/java")).forEach((from, to) -> uses.computeIfAbsent(from, p -> new TreeSet<>()).addAll(to));
        assertTrue(uses.containsKey("broker") && uses.containsKey("broker.guard"), "jdeps found the packages: " + uses.keySet());
        List<List<String>> cycles = new ArrayList<>();
        for (String from : uses.keySet()) {
            List<String> path = cycleFrom(from, from, uses, new ArrayList<>(List.of(from)), new TreeSet<>());
            if (path != null && from.equals(path.stream().sorted().findFirst().orElseThrow())) {
                cycles.add(path);
            }
        }
        assertEquals(List.of(), cycles, "package cycles (each: a path from a package back to itself)");
    }

    @Test
    void a_cycle_is_found_when_there_is_one() {
        Map<String, Set<String>> uses = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a"));
        assertEquals(List.of("a", "b", "c", "a"), cycleFrom("a", "a", uses, new ArrayList<>(List.of("a")), new TreeSet<>()));
        assertEquals(null, cycleFrom("d", "d", uses, new ArrayList<>(List.of("d")), new TreeSet<>()));
    }

    /** A path from {@code at} back to {@code start}, or null. */
    static List<String> cycleFrom(String start, String at, Map<String, Set<String>> uses, List<String> path, Set<String> seen) {
        for (String next : new TreeSet<>(uses.getOrDefault(at, Set.of()))) {
            if (next.equals(start)) {
                List<String> cycle = new ArrayList<>(path);
                cycle.add(start);
                return cycle;
            }
            if (seen.add(next)) {
                path.add(next);
                List<String> found = cycleFrom(start, next, uses, path, seen);
                if (found != null) {
                    return found;
                }
                path.remove(path.size() - 1);
            }
        }
        return null;
    }

    private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.]+)\\.[A-Z]\\w*(?:\\.\\w+)*;", Pattern.MULTILINE);

    /** Package to the packages of the main code its sources import. */
    private static Map<String, Set<String>> imports(Path sources) {
        Map<String, Set<String>> uses = new TreeMap<>();
        try (var files = Files.walk(sources)) {
            List<Path> java = files.filter(f -> f.toString().endsWith(".java")).toList();
            Set<String> ours = new TreeSet<>();
            Map<String, String> text = new TreeMap<>();
            for (Path file : java) {
                String source = Files.readString(file);
                Matcher declared = PACKAGE.matcher(source);
                assertTrue(declared.find(), file.toString());
                ours.add(declared.group(1));
                text.put(declared.group(1) + " " + file, source);
            }
            text.forEach((key, source) -> {
                String from = key.substring(0, key.indexOf(' '));
                Matcher imported = IMPORT.matcher(source);
                while (imported.find()) {
                    // a class of Artemis' own in the package Firehose shares with it is imported the same way: only
                    // packages that hold nothing but Firehose's code, and that package, count
                    String to = imported.group(1);
                    if (ours.contains(to) && !to.equals(from)) {
                        uses.computeIfAbsent(from, p -> new TreeSet<>()).add(to);
                    }
                }
            });
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return uses;
    }

    /** Package to the other packages of the same classes it uses. */
    private static Map<String, Set<String>> dependencies(Path classes) {
        assertTrue(Files.isDirectory(classes), classes + " (compile first)");
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("this JDK has no jdeps"));
        StringWriter out = new StringWriter();
        int code = jdeps.run(new PrintWriter(out), new PrintWriter(out), "-verbose:package", "-filter:none", classes.toString());
        assertEquals(0, code, out.toString());
        Map<String, Set<String>> uses = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            Matcher edge = EDGE.matcher(line);
            if (edge.matches() && !edge.group(1).equals(edge.group(2))) {
                uses.computeIfAbsent(edge.group(1), p -> new TreeSet<>()).add(edge.group(2));
            }
        }
        return uses;
    }
}
