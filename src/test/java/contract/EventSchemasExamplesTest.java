package contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/**
 * The hand-written examples (one or more per schema of the index, as Gerrit, its replication plugin, Launchpad, Zuul and
 * the broker write them) against the schema EventSchemas selects for each, and their broken copies refused.
 */
class EventSchemasExamplesTest {

    private static final EventSchemas SCHEMAS = EventSchemas.load();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> PLACEHOLDERS = Set.of("", "x", "xx", "xxx", "foo", "bar", "baz", "test", "string", "todo", "example", "abc");

    @Test
    void every_entry_of_the_index_has_an_example_and_every_example_an_entry() {
        List<ContractExamples.Example> examples = ContractExamples.all(SCHEMAS.index()); // throws for an example without entry
        Set<String> covered = new TreeSet<>();
        examples.forEach(example -> covered.add(example.entry().file()));
        Set<String> listed = new TreeSet<>();
        SCHEMAS.index().forEach(entry -> listed.add(entry.file()));
        assertEquals(listed, covered, "schemas without an example under " + ContractExamples.DIR);
        assertEquals(33, listed.size(), "a new schema needs an example under " + ContractExamples.DIR);
    }

    @Test
    void each_example_is_valid_against_the_schema_selected_for_it() {
        for (ContractExamples.Example example : ContractExamples.all(SCHEMAS.index())) {
            EventSchemas.Verdict verdict = SCHEMAS.check(example.entry().source(), example.topic(), example.payload());
            assertTrue(verdict.valid(), example.name() + ": " + verdict);
            assertEquals(example.entry().file(), verdict.schema(), example.name() + " is checked against another schema");
            assertEquals(example.entry().type(), verdict.type(), example.name());
            assertEquals(example.entry().source(), verdict.source(), example.name());
        }
    }

    @Test
    void examples_are_realistic_gerrit_events_not_placeholders() throws Exception {
        for (ContractExamples.Example example : ContractExamples.all(SCHEMAS.index())) {
            if (!example.entry().source().equals("gerrit")) {
                continue;
            }
            JsonNode event = JSON.readTree(example.payload());
            assertTrue(event.path("eventCreatedOn").asLong() > 1_000_000_000L, example.name() + ": eventCreatedOn, in seconds");
            List<String> texts = new ArrayList<>();
            collectTexts(event, texts);
            for (String text : texts) {
                assertFalse(PLACEHOLDERS.contains(text.toLowerCase(java.util.Locale.ROOT)), example.name() + ": a placeholder value '" + text + "'");
            }
        }
    }

    @Test
    void removing_each_required_field_or_giving_a_typed_field_another_type_is_refused() {
        int total = 0;
        for (ContractExamples.Example example : ContractExamples.all(SCHEMAS.index())) {
            String file = example.entry().file();
            List<ContractExamples.Mutation> mutations = ContractExamples.mutations(file, example.payload());
            JsonNode schema = ContractExamples.load(file);
            List<String> required = new ArrayList<>();
            ContractExamples.parts(file, schema).forEach(part -> part.schema().path("required").forEach(name -> required.add(name.asText())));
            for (String name : required) {
                assertTrue(mutations.stream().anyMatch(m -> m.change().equals("without /" + name)),
                        example.name() + " should have the required field " + name);
            }
            boolean accepting = example.entry().source().equals("zuul") || example.entry().source().equals("ansible");
            assertEquals(accepting, mutations.isEmpty(), example.name() + ": " + mutations.size()
                    + " broken copies; only the any-JSON schemas (zuul, ansible) give none");
            for (ContractExamples.Mutation mutation : mutations) {
                EventSchemas.Verdict verdict = SCHEMAS.check(example.entry().source(), example.topic(), mutation.payload());
                assertFalse(verdict.valid(), example.name() + " " + mutation.change() + " should be refused: "
                        + new String(mutation.payload(), StandardCharsets.UTF_8));
                total++;
            }
        }
        assertTrue(total > 500, "broken copies checked: " + total);
    }

    @Test
    void the_broken_copies_cover_the_nested_gerrit_attributes() {
        ContractExamples.Example created = ContractExamples.all(SCHEMAS.index()).stream()
                .filter(example -> example.name().equals("gerrit/patchset-created.json")).findFirst().orElseThrow();
        Set<String> changes = new TreeSet<>();
        ContractExamples.mutations(created.entry().file(), created.payload()).forEach(m -> changes.add(m.change()));
        for (String expected : List.of("without /type", "without /change", "without /patchSet", "without /change/project",
                "without /change/number", "without /patchSet/revision", "without /patchSet/ref", "/eventCreatedOn as \"1718351920\"",
                "/change/number as true", "/patchSet/parents/0 as 1718351920", "/uploader/email as 1718351920",
                "/change/status as 1718351920", "/change/owner as 1718351920", "/type as 1718351920")) {
            assertTrue(changes.contains(expected), expected + " in " + changes);
        }
    }

    /**
     * What each schema requires, pinned: the broken copies above follow the schemas, so a required field dropped from a
     * schema would drop its test with it. The Gerrit ones are what Gerrit's cmd-stream-events and JSON data documentation
     * describe each event and attribute by (Gerrit warns that any field may be missing, so only these are required).
     */
    @Test
    void each_schema_requires_the_fields_its_type_is_documented_with() {
        List<String> change = List.of("type", "change");
        Map<String, List<String>> expected = new java.util.TreeMap<>(Map.ofEntries(
                Map.entry("gerrit/event.json", List.of("type")),
                Map.entry("gerrit/patchset-created.json", List.of("type", "change", "patchSet")),
                Map.entry("gerrit/comment-added.json", List.of("type", "change", "patchSet")),
                Map.entry("gerrit/change-merged.json", List.of("type", "change", "patchSet")),
                Map.entry("gerrit/change-abandoned.json", change), Map.entry("gerrit/change-restored.json", change),
                Map.entry("gerrit/change-deleted.json", change), Map.entry("gerrit/topic-changed.json", change),
                Map.entry("gerrit/hashtags-changed.json", change), Map.entry("gerrit/wip-state-changed.json", change),
                Map.entry("gerrit/private-state-changed.json", change), Map.entry("gerrit/vote-deleted.json", change),
                Map.entry("gerrit/assignee-changed.json", change),
                Map.entry("gerrit/ref-updated.json", List.of("type", "refUpdate")),
                Map.entry("gerrit/reviewer-added.json", List.of("type", "change", "reviewer")),
                Map.entry("gerrit/reviewer-deleted.json", List.of("type", "change", "reviewer")),
                Map.entry("gerrit/project-created.json", List.of("type", "projectName")),
                Map.entry("gerrit/dropped-output.json", List.of("type")),
                Map.entry("gerrit/ref-replication-scheduled.json", List.of("type", "project", "ref")),
                Map.entry("gerrit/ref-replicated.json", List.of("type", "project", "ref", "status")),
                Map.entry("gerrit/ref-replication-done.json", List.of("type", "project", "ref", "nodesCount")),
                Map.entry("launchpad/bug.json", List.of("event-type", "commenters", "tags", "bug-reporter", "bug-modifier", "body",
                        "tasks", "subject", "date", "message-id", "rationale", "information-type", "security-vulnerability")),
                Map.entry("launchpad/notification.json", List.of("body", "subject", "date", "message-id")),
                Map.entry("subunit/result.json", List.of("build_uuid", "source_url", "status", "tests", "duration_seconds", "run_at", "failures"))));
        Map<String, List<String>> actual = new java.util.TreeMap<>();
        for (EventSchemas.Entry entry : SCHEMAS.index()) {
            Set<String> required = new TreeSet<>();
            ContractExamples.parts(entry.file(), ContractExamples.load(entry.file()))
                    .forEach(part -> part.schema().path("required").forEach(name -> required.add(name.asText())));
            if (!required.isEmpty()) {
                actual.put(entry.file(), List.copyOf(required));
            }
        }
        expected.replaceAll((file, names) -> List.copyOf(new TreeSet<>(names)));
        assertEquals(expected, actual);
        JsonNode common = ContractExamples.load("gerrit/common.json").path("$defs");
        assertEquals(List.of("project", "branch", "id", "number"), texts(common.at("/change/required")));
        assertEquals(List.of("number", "revision", "ref"), texts(common.at("/patchSet/required")));
        assertEquals(List.of("type", "value"), texts(common.at("/approval/required")));
        assertEquals(List.of("oldRev", "newRev", "refName", "project"), texts(common.at("/refUpdate/required")));
        assertEquals(List.of("total", "passed", "failed", "skipped", "xfail", "uxsuccess"),
                texts(ContractExamples.load("subunit/result.json").at("/properties/tests/required")));
    }

    private static List<String> texts(JsonNode array) {
        List<String> texts = new ArrayList<>();
        array.forEach(item -> texts.add(item.asText()));
        return texts;
    }

    private static void collectTexts(JsonNode node, List<String> texts) {
        if (node.isTextual()) {
            texts.add(node.asText());
        }
        node.forEach(child -> collectTexts(child, texts));
    }
}
