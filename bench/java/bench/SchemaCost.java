package bench;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;

import contract.EventSchemas;
import launchpad.BugMail;
import subunit.SubunitEvent;
import subunit.SubunitInput;
import subunit.SubunitSummary;

/**
 * What checking an event against its schema costs: {@link EventSchemas#check} on every real Gerrit sample line, the
 * Launchpad events BugMail makes of the sample mails and the subunit events of the sample streams, warm, one thread.
 * <pre>java bench.SchemaCost RESOURCES_DIR [ITERATIONS]</pre>
 * Prints, per group (each Gerrit type, launchpad, subunit), ns per check (p50, mean, p99) and bytes allocated per check.
 */
public final class SchemaCost {

    private static final ObjectMapper JSON = new ObjectMapper();

    private record Event(String group, String source, String topic, byte[] payload) {
    }

    public static void main(String[] args) throws Exception {
        Path resources = Path.of(args[0]);
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        long loadStart = System.nanoTime();
        EventSchemas schemas = EventSchemas.load();
        System.out.printf(Locale.ROOT, "load(): %.0f ms (%d schemas)%n", (System.nanoTime() - loadStart) / 1e6, schemas.index().size());
        List<Event> events = events(resources);
        for (Event event : events) {
            if (!schemas.check(event.source(), event.topic(), event.payload()).valid()) {
                throw new IllegalStateException("a sample does not validate: " + event.group());
            }
        }
        for (int round = 0; round < 5; round++) { // warm-up: JIT on every path
            for (Event event : events) {
                for (int i = 0; i < iterations / 5 + 1; i++) {
                    schemas.check(event.source(), event.topic(), event.payload());
                }
            }
        }
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        Map<String, List<long[]>> byGroup = new LinkedHashMap<>(); // per event: {ns samples..., allocated bytes total, payload bytes}
        Map<String, long[]> allocation = new LinkedHashMap<>();
        Map<String, Long> bytes = new LinkedHashMap<>();
        for (Event event : events) {
            long[] samples = new long[iterations];
            long allocatedBefore = threads.getThreadAllocatedBytes(thread);
            for (int i = 0; i < iterations; i++) {
                long start = System.nanoTime();
                schemas.check(event.source(), event.topic(), event.payload());
                samples[i] = System.nanoTime() - start;
            }
            long allocated = threads.getThreadAllocatedBytes(thread) - allocatedBefore;
            byGroup.computeIfAbsent(event.group(), g -> new ArrayList<>()).add(samples);
            allocation.merge(event.group(), new long[] {allocated, iterations}, (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
            bytes.merge(event.group(), (long) event.payload().length, Long::sum);
        }
        System.out.printf(Locale.ROOT, "%-28s %6s %9s %9s %9s %9s %12s%n", "group", "events", "bytes", "p50 ns", "mean ns", "p99 ns", "alloc B/chk");
        List<Long> all = new ArrayList<>();
        for (Map.Entry<String, List<long[]>> group : byGroup.entrySet()) {
            long[] merged = group.getValue().stream().flatMapToLong(Arrays::stream).sorted().toArray();
            Arrays.stream(merged).forEach(all::add);
            long[] alloc = allocation.get(group.getKey());
            System.out.printf(Locale.ROOT, "%-28s %6d %9d %9d %9.0f %9d %12d%n", group.getKey(), group.getValue().size(),
                    bytes.get(group.getKey()) / group.getValue().size(), merged[merged.length / 2], Arrays.stream(merged).average().orElse(0),
                    merged[(int) (merged.length * 0.99)], alloc[0] / alloc[1]);
        }
        long[] everything = all.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.printf(Locale.ROOT, "%-28s %6d %9s %9d %9.0f %9d%n", "all", events.size(), "", everything[everything.length / 2],
                Arrays.stream(everything).average().orElse(0), everything[(int) (everything.length * 0.99)]);
    }

    private static List<Event> events(Path resources) throws Exception {
        List<Event> events = new ArrayList<>();
        try (Stream<Path> files = Files.list(resources.resolve("gerrit"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()) {
                for (String line : Files.readAllLines(file)) {
                    if (!line.isBlank()) {
                        String type = JSON.readTree(line).path("type").asText();
                        events.add(new Event("gerrit/" + type, "gerrit", "gerrit/project/" + type, line.getBytes(StandardCharsets.UTF_8)));
                    }
                }
            }
        }
        try (Stream<Path> files = Files.list(resources.resolve("launchpad"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".eml")).sorted().toList()) {
                try (InputStream in = Files.newInputStream(file)) {
                    BugMail.Publish publish = (BugMail.Publish) BugMail.read(new MimeMessage(Session.getInstance(new Properties()), in), "launchpad");
                    events.add(new Event("launchpad/bug", "launchpad", publish.topic(), JSON.writeValueAsBytes(publish.event())));
                }
            }
        }
        ObjectNode metadata = JSON.createObjectNode().put("build_uuid", "5ef9f24a6b1c4b0c9a3c2f1d0e9b8a7c")
                .put("source_url", "https://logs.example.org/44/60244/12/check/tempest/5ef9f24/testrepository.subunit")
                .put("build_name", "tempest-full").put("build_change", "60244").put("build_patchset", "12")
                .put("build_queue", "check").put("project", "openstack/nova");
        for (String name : List.of("all_skips.subunit", "mixed.subunit", "passing-with-xfail.subunit", "successful.subunit", "uxsuccess.subunit")) {
            try (InputStream in = SubunitInput.open(Files.newInputStream(resources.resolve("subunit").resolve(name)))) {
                ObjectNode event = SubunitEvent.build(SubunitEvent.metadata(metadata), SubunitSummary.of(in, 100));
                events.add(new Event("subunit/result", "subunit", "gearman-subunit/w/openstack/nova/60244", JSON.writeValueAsBytes(event)));
            }
        }
        return events;
    }
}
