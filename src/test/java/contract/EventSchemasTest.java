package contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.Test;

import launchpad.BugMail;
import subunit.SubunitEvent;
import subunit.SubunitInput;
import subunit.SubunitSummary;

/** Every payload Firehose publishes from the real samples checked against its schema; broken ones refused. */
class EventSchemasTest {

    private static final EventSchemas SCHEMAS = EventSchemas.load();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path RESOURCES = Path.of("src/test/resources");
    private static final Path SCHEMA_DIR = Path.of("src/main/resources/schemas");

    static List<String> gerritLines() throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.list(RESOURCES.resolve("gerrit"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".jsonl")).sorted().toList()) {
                Files.readAllLines(file).stream().filter(line -> !line.isBlank()).forEach(lines::add);
            }
        }
        return lines;
    }

    static List<byte[]> launchpadEvents() throws Exception {
        List<byte[]> events = new ArrayList<>();
        for (String name : List.of("bug-1893667-two-tasks.eml", "bug-1905297-status-change.eml", "bug-1909247-new-security.eml")) {
            try (InputStream in = Files.newInputStream(RESOURCES.resolve("launchpad").resolve(name))) {
                MimeMessage mail = new MimeMessage(Session.getInstance(new Properties()), in);
                BugMail.Publish publish = assertInstanceOf(BugMail.Publish.class, BugMail.read(mail, "launchpad"), name);
                events.add(JSON.writeValueAsBytes(publish.event())); // as LaunchpadMailbox publishes it
            }
        }
        return events;
    }

    static List<byte[]> subunitEvents() throws Exception {
        ObjectNode metadata = JSON.createObjectNode().put("build_uuid", "5ef9f24a6b1c4b0c9a3c2f1d0e9b8a7c")
                .put("source_url", "https://logs.example.org/44/60244/12/check/tempest/5ef9f24/testrepository.subunit")
                .put("build_name", "tempest-full").put("build_status", "SUCCESS").put("build_change", "60244")
                .put("build_patchset", "12").put("build_queue", "check").put("project", "openstack/nova").put("voting", "1");
        List<byte[]> events = new ArrayList<>();
        for (String name : List.of("all_skips.subunit", "big-tracebacks.subunit.gz", "mixed.subunit", "mixed.subunit.gz",
                "passing-with-xfail.subunit", "successful.subunit", "uxsuccess.subunit")) {
            try (InputStream in = SubunitInput.open(Files.newInputStream(RESOURCES.resolve("subunit").resolve(name)))) {
                SubunitSummary summary = SubunitSummary.of(in, 100);
                events.add(JSON.writeValueAsBytes(SubunitEvent.build(SubunitEvent.metadata(metadata), summary)));
                events.add(JSON.writeValueAsBytes(SubunitEvent.build(JSON.createObjectNode(), summary))); // no metadata at all
            }
        }
        return events;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] mutated(byte[] event, Consumer<ObjectNode> change) throws IOException {
        ObjectNode tree = (ObjectNode) JSON.readTree(event);
        change.accept(tree);
        return JSON.writeValueAsBytes(tree);
    }

    private static void assertInvalid(EventSchemas.Verdict verdict, String mentioned) {
        assertFalse(verdict.valid(), "should be refused: " + verdict);
        assertTrue(verdict.problems().size() <= EventSchemas.MAX_PROBLEMS, verdict.toString());
        assertTrue(verdict.problems().stream().anyMatch(problem -> problem.contains(mentioned)),
                "a problem should name '" + mentioned + "': " + verdict.problems());
    }

    @Test
    void every_gerrit_sample_line_validates_against_the_schema_of_its_own_type() throws IOException {
        List<String> lines = gerritLines();
        assertTrue(lines.size() >= 70, "samples: " + lines.size());
        Set<String> types = new TreeSet<>();
        for (String line : lines) {
            String type = JSON.readTree(line).get("type").asText();
            EventSchemas.Verdict verdict = SCHEMAS.check("gerrit", "gerrit/x/" + type, bytes(line));
            assertTrue(verdict.valid(), verdict + " for " + line.substring(0, Math.min(200, line.length())));
            assertEquals(type, verdict.type());
            assertEquals("gerrit/" + type + ".json", verdict.schema(), "each sample type has a schema of its own");
            types.add(type);
        }
        assertEquals(Set.of("change-merged", "comment-added", "patchset-created", "ref-replicated", "ref-replication-done",
                "ref-replication-scheduled", "ref-updated", "wip-state-changed"), types);
    }

    @Test
    void an_unknown_gerrit_type_is_checked_as_any_event_and_reported_as_other() {
        EventSchemas.Verdict verdict = SCHEMAS.check("gerrit", "gerrit/x", bytes("{\"type\":\"some-plugin-event\",\"eventCreatedOn\":1700000000,\"extra\":[1]}"));
        assertTrue(verdict.valid(), verdict.toString());
        assertEquals("other", verdict.type());
        assertEquals("gerrit/event.json", verdict.schema());
        assertInvalid(SCHEMAS.check("gerrit", "gerrit/x", bytes("{\"eventCreatedOn\":1700000000}")), "type");
        assertInvalid(SCHEMAS.check("gerrit", "gerrit/x", bytes("[1,2]")), "object");
    }

    @Test
    void gerrit_events_missing_a_required_field_or_with_a_wrong_type_are_refused() throws IOException {
        byte[] created = bytes(gerritLines().stream().filter(line -> line.contains("\"patchset-created\"")).findFirst().orElseThrow());
        byte[] updated = bytes(gerritLines().stream().filter(line -> line.contains("\"ref-updated\"")).findFirst().orElseThrow());
        assertInvalid(SCHEMAS.check("gerrit", "t", mutated(created, e -> e.remove("patchSet"))), "patchSet");
        assertInvalid(SCHEMAS.check("gerrit", "t", mutated(created, e -> ((ObjectNode) e.get("change")).remove("project"))), "project");
        assertInvalid(SCHEMAS.check("gerrit", "t", mutated(created, e -> e.put("eventCreatedOn", "1570146179"))), "eventCreatedOn");
        assertInvalid(SCHEMAS.check("gerrit", "t", mutated(created, e -> ((ObjectNode) e.get("patchSet")).put("number", "fourteen"))), "number");
        assertInvalid(SCHEMAS.check("gerrit", "t", mutated(created, e -> ((ObjectNode) e.get("uploader")).put("email", 7))), "email");
        assertInvalid(SCHEMAS.check("gerrit", "t", mutated(updated, e -> ((ObjectNode) e.get("refUpdate")).put("newRev", "not-a-sha"))), "newRev");
        // open to what Gerrit adds: a new field anywhere is no problem
        assertTrue(SCHEMAS.check("gerrit", "t", mutated(created, e -> ((ObjectNode) e.get("change")).put("cherryPickOf", 3))).valid());
    }

    @Test
    void launchpad_events_bug_mail_produces_from_the_sample_mails_validate() throws Exception {
        for (byte[] event : launchpadEvents()) {
            EventSchemas.Verdict verdict = SCHEMAS.check("launchpad", "launchpad/nova/bug/1", event);
            assertTrue(verdict.valid(), verdict + " for " + new String(event, StandardCharsets.UTF_8));
            assertEquals("bug", verdict.type());
            assertEquals("launchpad/bug.json", verdict.schema());
        }
    }

    @Test
    void launchpad_events_missing_a_field_or_with_a_wrong_type_are_refused() throws Exception {
        byte[] event = launchpadEvents().get(0);
        assertInvalid(SCHEMAS.check("launchpad", "t", mutated(event, e -> e.remove("body"))), "body");
        assertInvalid(SCHEMAS.check("launchpad", "t", mutated(event, e -> e.put("commenters", "alice bob"))), "commenters");
        assertInvalid(SCHEMAS.check("launchpad", "t", mutated(event, e -> e.put("bug-number", 1893667))), "bug-number");
        assertInvalid(SCHEMAS.check("launchpad", "t", mutated(event, e -> e.put("status", 3))), "status");
        assertInvalid(SCHEMAS.check("launchpad", "t", mutated(event, e -> e.put("event-type", "question"))), "event-type");
    }

    @Test
    void other_launchpad_notifications_are_checked_as_lpmqtt_published_them() throws Exception {
        MimeMessage mail = new MimeMessage(Session.getInstance(new Properties()), new java.io.ByteArrayInputStream(bytes(
                "X-Generated-By: Launchpad (canonical.com)\r\nX-Launchpad-Notification-Type: question\r\n"
                        + "X-Launchpad-Bug: product=nova; status=New\r\nSubject: a question\r\n\r\nbody\r\n")));
        BugMail.Publish publish = assertInstanceOf(BugMail.Publish.class, BugMail.read(mail, "launchpad"));
        EventSchemas.Verdict verdict = SCHEMAS.check("launchpad", publish.topic(), JSON.writeValueAsBytes(publish.event()));
        assertTrue(verdict.valid(), verdict.toString());
        assertEquals("notification", verdict.type());
    }

    @Test
    void subunit_events_the_parser_and_summary_produce_from_the_sample_streams_validate() throws Exception {
        for (byte[] event : subunitEvents()) {
            EventSchemas.Verdict verdict = SCHEMAS.check("subunit", "gearman-subunit/w/openstack/nova/60244", event);
            assertTrue(verdict.valid(), verdict + " for " + new String(event, StandardCharsets.UTF_8));
            assertEquals("result", verdict.type());
            assertEquals("subunit/result.json", verdict.schema());
        }
    }

    @Test
    void subunit_events_missing_a_field_or_with_a_wrong_type_are_refused() throws Exception {
        byte[] event = subunitEvents().get(4); // mixed.subunit: failures, timestamps
        assertInvalid(SCHEMAS.check("subunit", "t", mutated(event, e -> e.remove("tests"))), "tests");
        assertInvalid(SCHEMAS.check("subunit", "t", mutated(event, e -> ((ObjectNode) e.get("tests")).put("total", "200"))), "total");
        assertInvalid(SCHEMAS.check("subunit", "t", mutated(event, e -> e.put("duration_seconds", "91.717"))), "duration_seconds");
        assertInvalid(SCHEMAS.check("subunit", "t", mutated(event, e -> e.put("status", "passed"))), "status");
        assertInvalid(SCHEMAS.check("subunit", "t", mutated(event, e -> e.put("run_at", "yesterday"))), "run_at");
        assertInvalid(SCHEMAS.check("subunit", "t", mutated(event, e -> ((ArrayNode) e.get("failures")).add(3))), "failures");
    }

    @Test
    void a_payload_that_is_not_json_is_a_problem_never_an_exception() {
        for (String source : List.of("gerrit", "launchpad", "subunit", "zuul", "ansible")) {
            for (String payload : List.of("", "not json", "{\"type\":", "{} {}", "{\"type\":\"x\"} trailing")) {
                EventSchemas.Verdict verdict = SCHEMAS.check(source, "t", bytes(payload));
                assertFalse(verdict.valid(), source + ": " + payload);
                assertTrue(verdict.problems().get(0).startsWith("not JSON"), verdict.toString());
            }
            assertFalse(SCHEMAS.check(source, "t", new byte[] {'"', (byte) 0xC3, '"'}).valid(), "broken UTF-8");
        }
        assertTrue(SCHEMAS.check("zuul", "zuul/check/nova", bytes("{\"action\":\"start\",\"pipeline\":\"check\"}")).valid());
        assertTrue(SCHEMAS.check("ansible", "ansible/playbook/1", bytes("\"just a string\"")).valid());
        EventSchemas.Verdict unknown = SCHEMAS.check("nobody", "t", bytes("{}"));
        assertEquals("other", unknown.source());
        assertFalse(unknown.valid());
    }

    @Test
    void sys_values_are_checked_as_the_text_the_broker_publishes() {
        // the formats EmbeddedBroker.sysTopics() writes
        assertTrue(SCHEMAS.check("sys", "$SYS/broker/version", bytes("firehose version 0.1.0-SNAPSHOT (ActiveMQ Artemis 2.55.0)")).valid());
        assertTrue(SCHEMAS.check("sys", "$SYS/broker/uptime", bytes("3605 seconds")).valid());
        for (String counter : List.of("clients/connected", "clients/total", "messages/received", "messages/sent", "messages/dropped")) {
            EventSchemas.Verdict verdict = SCHEMAS.check("sys", "$SYS/broker/" + counter, bytes("42"));
            assertTrue(verdict.valid(), verdict.toString());
            assertEquals(counter, verdict.type());
            assertEquals("sys/" + counter + ".json", verdict.schema());
            assertFalse(SCHEMAS.check("sys", "$SYS/broker/" + counter, bytes("42 clients")).valid());
            assertFalse(SCHEMAS.check("sys", "$SYS/broker/" + counter, bytes("-1")).valid());
        }
        assertFalse(SCHEMAS.check("sys", "$SYS/broker/uptime", bytes("3605")).valid());
        EventSchemas.Verdict unknown = SCHEMAS.check("sys", "$SYS/broker/load/bytes/received/1min", bytes("1"));
        assertEquals("other", unknown.type());
        assertFalse(unknown.valid());
    }

    @Test
    void index_lists_exactly_the_schema_files_and_each_is_valid_draft_2020_12() throws IOException {
        Set<String> present = new TreeSet<>();
        try (Stream<Path> files = Files.walk(SCHEMA_DIR)) {
            files.filter(Files::isRegularFile).map(f -> SCHEMA_DIR.relativize(f).toString().replace('\\', '/'))
                    .filter(f -> !f.equals("index.json") && !f.equals(EventSchemas.COMMON)).forEach(present::add);
        }
        Set<String> listed = new TreeSet<>();
        for (EventSchemas.Entry entry : SCHEMAS.index()) {
            assertTrue(listed.add(entry.file()), "listed twice: " + entry.file());
            assertTrue(Set.of("gerrit", "launchpad", "subunit", "zuul", "ansible", "sys").contains(entry.source()), entry.toString());
            assertFalse(entry.title().isBlank() || entry.summary().isBlank() || entry.type().isBlank(), entry.toString());
        }
        assertEquals(present, listed);

        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                builder -> builder.schemaLoader(loader -> loader.fetchRemoteResources(false)));
        Schema metaSchema = registry.getSchema(SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));
        List<String> all = new ArrayList<>(present);
        all.add(EventSchemas.COMMON);
        for (String file : all) {
            String text = Files.readString(SCHEMA_DIR.resolve(file));
            JsonNode schema = JSON.readTree(text);
            assertEquals("https://json-schema.org/draft/2020-12/schema", schema.path("$schema").asText(), file);
            List<Error> errors = metaSchema.validate(tools.jackson.databind.json.JsonMapper.builder().build().readTree(text));
            assertTrue(errors.isEmpty(), file + ": " + errors);
        }
    }

    @Test
    void every_ref_resolves_to_a_file_and_a_definition_in_it() throws IOException {
        int refs = 0;
        try (Stream<Path> files = Files.walk(SCHEMA_DIR)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".json")).toList()) {
                List<String> found = new ArrayList<>();
                collectRefs(JSON.readTree(file.toFile()), found);
                for (String ref : found) {
                    refs++;
                    String target = ref.contains("#") ? ref.substring(0, ref.indexOf('#')) : ref;
                    String pointer = ref.contains("#") ? ref.substring(ref.indexOf('#') + 1) : "";
                    assertFalse(target.contains(":") || target.startsWith("/"), "relative $ref only: " + ref + " in " + file);
                    Path resolved = target.isEmpty() ? file : file.resolveSibling(target).normalize();
                    assertTrue(Files.isRegularFile(resolved), ref + " in " + file);
                    assertFalse(JSON.readTree(resolved.toFile()).at(pointer).isMissingNode(), ref + " in " + file);
                }
            }
        }
        assertTrue(refs > 50, "refs checked: " + refs);
    }

    private static void collectRefs(JsonNode node, List<String> refs) {
        if (node.isObject()) {
            node.properties().forEach(field -> {
                if (field.getKey().equals("$ref") && field.getValue().isTextual()) {
                    refs.add(field.getValue().asText());
                } else {
                    collectRefs(field.getValue(), refs);
                }
            });
        } else if (node.isArray()) {
            node.forEach(item -> collectRefs(item, refs));
        }
    }

    @Test
    void file_serves_the_listed_schemas_and_refuses_anything_else() throws IOException {
        for (EventSchemas.Entry entry : SCHEMAS.index()) {
            assertTrue(java.util.Arrays.equals(Files.readAllBytes(SCHEMA_DIR.resolve(entry.file())), SCHEMAS.file(entry.file()).orElseThrow()));
        }
        assertTrue(SCHEMAS.file("gerrit/common.json").isPresent());
        for (String path : List.of("../application.properties", "gerrit/../../log4j2.properties", "/schemas/gerrit/event.json",
                "/etc/passwd", "gerrit/./event.json", "gerrit//event.json", "gerrit\\event.json", "index.json", "", "gerrit",
                "GERRIT/EVENT.JSON", "gerrit/event.json\0", "%2e%2e/application.properties", "file:/etc/passwd")) {
            assertTrue(SCHEMAS.file(path).isEmpty(), path);
        }
        assertTrue(SCHEMAS.file(null).isEmpty());
        byte[] copy = SCHEMAS.file("gerrit/event.json").orElseThrow();
        copy[0] = 'X';
        assertEquals('{', SCHEMAS.file("gerrit/event.json").orElseThrow()[0], "callers get a copy");
    }

    @Test
    void one_instance_checks_from_several_threads_at_once() throws Exception {
        List<String> lines = gerritLines();
        List<java.util.concurrent.Future<Long>> results = new ArrayList<>();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            for (int t = 0; t < 4; t++) {
                results.add(pool.submit(() -> {
                    long valid = 0;
                    for (int round = 0; round < 20; round++) {
                        for (String line : lines) {
                            valid += SCHEMAS.check("gerrit", "t", bytes(line)).valid() ? 1 : 0;
                        }
                    }
                    return valid;
                }));
            }
            for (java.util.concurrent.Future<Long> result : results) {
                assertEquals(20L * lines.size(), result.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void verdict_types_are_bounded_by_the_index() throws IOException {
        Set<String> allowed = new TreeSet<>(List.of("other"));
        SCHEMAS.index().forEach(entry -> allowed.add(entry.type()));
        List<String> lines = gerritLines();
        for (int i = 0; i < 1000; i++) {
            String type = "made-up-" + i;
            assertTrue(allowed.contains(SCHEMAS.check("gerrit", "t", bytes("{\"type\":\"" + type + "\"}")).type()));
        }
        for (String line : lines) {
            assertTrue(allowed.contains(SCHEMAS.check("gerrit", "t", bytes(line)).type()));
        }
    }
}
