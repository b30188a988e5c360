package contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** The document and the schema bundle without the application: several Gerrit servers, references, what is refused. */
class AsyncApiDocumentTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final EventSchemas SCHEMAS = EventSchemas.load();

    private static AsyncApiDocument.Bus bus(List<String> gerrit, List<String> launchpad) {
        return new AsyncApiDocument.Bus("bus.example.org", Map.of("mqtt", 1883), gerrit, launchpad, "gearman-subunit", "firehose01", 10);
    }

    @Test
    void should_give_each_gerrit_server_and_mailbox_base_topic_its_channels() throws Exception {
        AsyncApiDocument document = new AsyncApiDocument(JSON, SCHEMAS, "test");
        JsonNode tree = AsyncApiIT.YAML.readTree(document.yaml(bus(List.of("gerrit", "review-dev", "gerrit"), List.of("lp/bugs"))));
        assertEquals("gerrit/{namespace}/{repo}/{event}", tree.at("/channels/gerrit/address").asText());
        assertEquals("review-dev/{namespace}/{repo}/{event}", tree.at("/channels/gerrit-review-dev/address").asText());
        assertEquals("review-dev/{event}", tree.at("/channels/gerrit-review-dev-without-project/address").asText());
        assertEquals("lp/bugs/{project}/bug/{bug}", tree.at("/channels/launchpad-lp_bugs/address").asText());
        assertEquals(4 + 2 + 3 + 7, tree.path("channels").size()); // gerrit x2, launchpad, subunit, zuul, ansible; $SYS
        assertEquals("bus.example.org:1883", tree.at("/servers/mqtt/host").asText());
        assertEquals(1, tree.path("servers").size());
    }

    @Test
    void should_default_to_the_default_base_topics_when_no_source_is_configured() throws Exception {
        JsonNode tree = new AsyncApiDocument(JSON, SCHEMAS, "test").tree(bus(List.of(), List.of()));
        assertEquals("gerrit/{namespace}/{repo}/{event}", tree.at("/channels/gerrit/address").asText());
        assertEquals("launchpad/{project}/bug/{bug}", tree.at("/channels/launchpad/address").asText());
    }

    @Test
    void should_bundle_references_into_the_document() {
        Map<String, String> files = Map.of(
                "a/root.json", "{\"$id\":\"https://x/a/root.json\",\"$ref\":\"base.json\",\"properties\":{\"x\":{\"$ref\":\"#/$defs/x\"},"
                        + "\"y\":{\"$ref\":\"../b/shared.json#/$defs/y\",\"description\":\"why\"},\"c\":{\"const\":{\"$ref\":\"data\"}}},"
                        + "\"$defs\":{\"x\":{\"type\":\"string\"}}}",
                "a/base.json", "{\"type\":\"object\"}",
                "b/shared.json", "{\"$defs\":{\"y\":{\"type\":\"integer\"}}}");
        Map<String, com.fasterxml.jackson.databind.node.ObjectNode> bundle = SchemaBundle.of(JSON, List.of("a/root.json"),
                file -> Optional.ofNullable(files.get(file)).map(text -> text.getBytes(StandardCharsets.UTF_8)));
        assertEquals(List.of("a.root", "a.base", "b.shared"), List.copyOf(bundle.keySet()));
        JsonNode root = bundle.get("a.root");
        assertTrue(root.path("$id").isMissingNode());
        assertEquals("#/components/schemas/a.base", root.at("/allOf/0/$ref").asText());
        assertEquals("#/components/schemas/a.root/$defs/x", root.at("/properties/x/$ref").asText());
        assertEquals("#/components/schemas/b.shared/$defs/y", root.at("/properties/y/allOf/0/$ref").asText());
        assertEquals("why", root.at("/properties/y/description").asText());
        assertEquals("data", root.at("/properties/c/const/$ref").asText());
        assertThrows(IllegalStateException.class, () -> SchemaBundle.of(JSON, List.of("r.json"),
                file -> Optional.of("{\"$ref\":\"../../etc/x.json\"}".getBytes(StandardCharsets.UTF_8))));
        assertThrows(IllegalStateException.class, () -> SchemaBundle.of(JSON, List.of("r.json"),
                file -> Optional.of("{\"$ref\":\"https://elsewhere/x.json\"}".getBytes(StandardCharsets.UTF_8))));
    }
}
