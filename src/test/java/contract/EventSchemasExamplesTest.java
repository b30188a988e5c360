package contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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

    private static void collectTexts(JsonNode node, List<String> texts) {
        if (node.isTextual()) {
            texts.add(node.asText());
        }
        node.forEach(child -> collectTexts(child, texts));
    }
}
