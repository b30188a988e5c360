package contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import firehose.FirehoseApp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The schemas as {@code GET /asyncapi.yaml} bundles them mean what the files mean: every example and its broken copies,
 * and every real sample EventSchemasTest checks, get the same verdict from the message's bundled payload schema
 * (networknt, draft 2020-12, references resolved inside the served document only) as from EventSchemas with the files.
 */
class AsyncApiBundleIT {

    private static final EventSchemas SCHEMAS = EventSchemas.load();
    private static final JsonMapper JSON3 = JsonMapper.builder().build();
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,400}");

    @TempDir
    static Path data;
    static FirehoseApp app;
    /** Schema file to its message's payload schema, compiled from the served document. */
    static Map<String, Schema> bundled;

    @BeforeAll
    static void start() throws Exception {
        app = FirehoseApp.builder(data).start();
        JsonNode document = AsyncApiIT.document(app, "localhost");
        JsonNode components = document.path("components").path("schemas");
        assertTrue(components.size() > SCHEMAS.index().size(), "components.schemas: " + components.size());
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                builder -> builder.schemaLoader(loader -> loader.fetchRemoteResources(false)));
        bundled = new HashMap<>();
        for (EventSchemas.Entry entry : SCHEMAS.index()) {
            String key = SchemaBundle.key(entry.file());
            JsonNode message = document.path("components").path("messages").path(key);
            assertEquals("/schemas/" + entry.file(), message.path("x-firehose-schema").asText(), key);
            JsonNode payload = message.path("payload");
            assertTrue(payload.isObject(), key + " has a payload schema");
            // the message's payload as the root, with the document's components beside it for its in-document pointers
            ObjectNode root = AsyncApiIT.JSON.createObjectNode();
            root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
            root.setAll((ObjectNode) payload.deepCopy());
            root.putObject("components").set("schemas", components.deepCopy());
            Schema schema = registry.getSchema(SchemaLocation.of("https://firehose.test/asyncapi/" + key + ".json"),
                    AsyncApiIT.JSON.writeValueAsString(root), InputFormat.JSON);
            schema.initializeValidators();
            bundled.put(entry.file(), schema);
        }
    }

    @AfterAll
    static void stop() {
        if (app != null) {
            app.close();
        }
    }

    /** The bundled verdict of a payload EventSchemas checked; it is read as EventSchemas reads it ($SYS: a count or text). */
    private static List<Error> bundledErrors(EventSchemas.Verdict verdict, byte[] payload) {
        Schema schema = bundled.get(verdict.schema());
        assertTrue(schema != null, "no message for " + verdict);
        tools.jackson.databind.JsonNode value;
        if (verdict.source().equals("sys")) {
            String text = new String(payload, StandardCharsets.UTF_8);
            value = INTEGER.matcher(text).matches() ? JsonNodeFactory.instance.numberNode(new java.math.BigInteger(text))
                    : JsonNodeFactory.instance.stringNode(text);
        } else {
            value = JSON3.readTree(payload);
        }
        return schema.validate(value);
    }

    /** Same verdict from the files and from the bundle; returns whether valid. */
    private static boolean assertSameVerdict(String source, String topic, byte[] payload, String what) {
        EventSchemas.Verdict verdict = SCHEMAS.check(source, topic, payload);
        assertTrue(verdict.schema() != null, what + ": " + verdict);
        List<Error> errors = bundledErrors(verdict, payload);
        assertEquals(verdict.valid(), errors.isEmpty(), what + " against " + verdict.schema() + ": the files say " + verdict.problems()
                + ", the bundle says " + errors + " for " + shortened(new String(payload, StandardCharsets.UTF_8)));
        return verdict.valid();
    }

    @Test
    void should_keep_every_example_valid_and_every_broken_copy_invalid() {
        List<ContractExamples.Example> examples = ContractExamples.all(SCHEMAS.index());
        Set<String> covered = new HashSet<>();
        int broken = 0;
        for (ContractExamples.Example example : examples) {
            String source = example.entry().source();
            assertTrue(assertSameVerdict(source, example.topic(), example.payload(), example.name()), example.name() + " is valid");
            covered.add(example.entry().file());
            for (ContractExamples.Mutation mutation : ContractExamples.mutations(example.entry().file(), example.payload())) {
                assertFalse(assertSameVerdict(source, example.topic(), mutation.payload(), example.name() + " " + mutation.change()),
                        example.name() + " " + mutation.change() + " is invalid");
                broken++;
            }
        }
        assertEquals(bundled.keySet(), covered, "every message's schema is tried");
        assertTrue(broken > 500, "broken copies: " + broken);
    }

    @Test
    void should_give_the_real_samples_and_their_broken_copies_the_verdict_the_files_give() throws Exception {
        List<String> lines = EventSchemasTest.gerritLines();
        Set<String> brokenTypes = new HashSet<>();
        int broken = 0;
        for (String line : lines) {
            byte[] payload = line.getBytes(StandardCharsets.UTF_8);
            assertTrue(assertSameVerdict("gerrit", "gerrit/test/x", payload, line.substring(0, Math.min(120, line.length()))));
            EventSchemas.Verdict verdict = SCHEMAS.check("gerrit", "gerrit/test/x", payload);
            if (brokenTypes.add(verdict.type())) { // one sample of each type broken every way
                for (ContractExamples.Mutation mutation : ContractExamples.mutations(verdict.schema(), payload)) {
                    assertFalse(assertSameVerdict("gerrit", "gerrit/test/x", mutation.payload(), verdict.type() + " sample " + mutation.change()));
                    broken++;
                }
            }
        }
        List<byte[]> launchpad = EventSchemasTest.launchpadEvents();
        List<byte[]> subunit = EventSchemasTest.subunitEvents();
        for (byte[] event : launchpad) {
            assertTrue(assertSameVerdict("launchpad", "launchpad/qemu/bug/1", event, "launchpad sample"));
        }
        for (byte[] event : subunit) {
            assertTrue(assertSameVerdict("subunit", "gearman-subunit/w/openstack/nova/60244", event, "subunit sample"));
        }
        for (ContractExamples.Mutation mutation : mutationsOf("launchpad/bug.json", launchpad.get(0))) {
            assertFalse(assertSameVerdict("launchpad", "launchpad/qemu/bug/1", mutation.payload(), "launchpad sample " + mutation.change()));
            broken++;
        }
        for (ContractExamples.Mutation mutation : mutationsOf("subunit/result.json", subunit.get(4))) {
            assertFalse(assertSameVerdict("subunit", "t", mutation.payload(), "subunit sample " + mutation.change()));
            broken++;
        }
        assertTrue(broken > 300, "broken copies of samples: " + broken);
    }

    @Test
    void should_agree_on_what_is_not_an_event_of_the_type() {
        // the fallback and the refusals of EventSchemasTest, from the bundle
        List<String[]> cases = new ArrayList<>();
        cases.add(new String[] {"gerrit", "t", "{\"type\":\"some-plugin-event\",\"eventCreatedOn\":1700000000,\"extra\":[1]}"});
        cases.add(new String[] {"gerrit", "t", "{\"eventCreatedOn\":1700000000}"});
        cases.add(new String[] {"gerrit", "t", "[1,2]"});
        cases.add(new String[] {"gerrit", "t", "{\"type\":\"ref-updated\",\"refUpdate\":{\"oldRev\":\"0000000000000000000000000000000000000000\","
                + "\"newRev\":\"not-a-sha\",\"refName\":\"refs/heads/master\",\"project\":\"openstack/nova\"}}"});
        cases.add(new String[] {"zuul", "zuul/check/nova", "{\"action\":\"start\",\"pipeline\":\"check\"}"});
        cases.add(new String[] {"ansible", "ansible/playbook/1", "\"just a string\""});
        cases.add(new String[] {"sys", "$SYS/broker/uptime", "3605"});
        cases.add(new String[] {"sys", "$SYS/broker/clients/connected", "-1"});
        cases.add(new String[] {"sys", "$SYS/broker/version", "firehose version 0.1.0-SNAPSHOT (ActiveMQ Artemis 2.55.0)"});
        int valid = 0;
        for (String[] c : cases) {
            valid += assertSameVerdict(c[0], c[1], c[2].getBytes(StandardCharsets.UTF_8), c[0] + " " + c[2]) ? 1 : 0;
        }
        assertEquals(4, valid);
    }

    private static String shortened(String text) {
        return text.length() > 300 ? text.substring(0, 300) + "…" : text;
    }

    private static List<ContractExamples.Mutation> mutationsOf(String file, byte[] payload) {
        List<ContractExamples.Mutation> mutations = ContractExamples.mutations(file, payload);
        assertFalse(mutations.isEmpty(), file);
        return mutations;
    }
}
