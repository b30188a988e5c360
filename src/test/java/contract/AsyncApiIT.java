package contract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import firehose.FirehoseApp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /asyncapi.yaml} and {@code GET /schemas/...} from outside, on the application with every listener open, and
 * on one with the WebSocket and TLS listeners off behind a public host name.
 */
class AsyncApiIT {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path data;
    static FirehoseApp app;

    @BeforeAll
    static void start() {
        app = FirehoseApp.builder(data).start();
    }

    @AfterAll
    static void stop() {
        if (app != null) {
            app.close();
        }
    }

    static int httpPort(FirehoseApp app) {
        return Integer.parseInt(app.property("camel.server.port"));
    }

    static JsonNode document(FirehoseApp app, String host) throws IOException {
        RawHttp.Response response = RawHttp.send(httpPort(app), "GET", "/asyncapi.yaml", host);
        assertEquals(200, response.status(), response.text());
        assertTrue(response.header("Content-Type").startsWith("application/yaml"), response.header("Content-Type"));
        assertEquals("*", response.header("Access-Control-Allow-Origin"));
        return YAML.readTree(response.body());
    }

    static List<EventSchemas.Entry> index() {
        return EventSchemas.load().index();
    }

    /** Server name to host:port, protocol. */
    static Map<String, String> servers(JsonNode document) {
        Map<String, String> servers = new TreeMap<>();
        document.path("servers").fields().forEachRemaining(server -> servers.put(server.getKey(),
                server.getValue().path("host").asText() + " " + server.getValue().path("protocol").asText()));
        return servers;
    }

    @Test
    void should_be_an_asyncapi_3_document_of_every_open_listener_on_the_requested_host() throws Exception {
        JsonNode document = document(app, "firehose.test:" + httpPort(app));
        assertEquals("3.0.0", document.path("asyncapi").asText());
        assertEquals("Firehose", document.path("info").path("title").asText());
        Map<String, String> expected = new TreeMap<>(Map.of(
                "mqtt", "firehose.test:" + app.port("mqtt") + " mqtt",
                "mqtt-tls", "firehose.test:" + app.port("tls") + " secure-mqtt",
                "mqtt-ws", "firehose.test:" + app.port("ws") + " ws",
                "mqtt-wss", "firehose.test:" + app.port("wss") + " wss"));
        assertEquals(expected, servers(document));
        assertEquals("/mqtt", document.path("servers").path("mqtt-ws").path("pathname").asText());
        document.path("servers").forEach(server -> {
            assertEquals("5", server.path("protocolVersion").asText());
            assertTrue(server.path("description").asText().contains("publishing needs an account"), server.toString());
        });
    }

    @Test
    void should_take_the_host_from_the_host_header_without_its_port() throws Exception {
        assertEquals("127.0.0.1:" + app.port("mqtt"), document(app, "127.0.0.1:" + httpPort(app)).at("/servers/mqtt/host").asText());
        assertEquals("bus.example.org:" + app.port("mqtt"), document(app, "bus.example.org").at("/servers/mqtt/host").asText());
        assertEquals("[::1]:" + app.port("mqtt"), document(app, "[::1]:" + httpPort(app)).at("/servers/mqtt/host").asText());
        // what is not a host name is not repeated back
        assertEquals("localhost:" + app.port("mqtt"), document(app, "evil_host").at("/servers/mqtt/host").asText());
    }

    @Test
    void should_have_a_channel_and_a_receive_operation_for_every_topic_family() throws Exception {
        JsonNode document = document(app, "localhost");
        Map<String, String> addresses = new LinkedHashMap<>();
        document.path("channels").fields().forEachRemaining(channel -> addresses.put(channel.getKey(), channel.getValue().path("address").asText()));
        String subunit = "gearman-subunit/{worker}/{project}/{change}";
        for (String address : List.of("gerrit/{namespace}/{repo}/{event}", "gerrit/{event}", "launchpad/{project}/bug/{bug}",
                "launchpad/{project}", subunit, "zuul/{pipeline}/{project}/{branch}/{change}",
                "ansible/playbook/{uuid}/{event}", "$SYS/broker/uptime", "$SYS/broker/version", "$SYS/broker/clients/connected",
                "$SYS/broker/messages/received", "$SYS/broker/messages/sent")) {
            assertTrue(addresses.containsValue(address), address + " in " + addresses);
        }
        String gerrit = document.at("/channels/gerrit/description").asText();
        assertTrue(gerrit.contains("a/b/c") && gerrit.contains("gerrit/{event}"), gerrit);
        assertTrue(document.at("/channels/subunit/description").asText().contains("openstack/nova fills two levels"));
        document.path("channels").fields().forEachRemaining(channel -> {
            Set<String> named = new TreeSet<>();
            java.util.regex.Matcher parameter = java.util.regex.Pattern.compile("\\{([^}]+)}").matcher(channel.getValue().path("address").asText());
            while (parameter.find()) {
                named.add(parameter.group(1));
            }
            Set<String> described = new TreeSet<>();
            channel.getValue().path("parameters").fields().forEachRemaining(p -> {
                described.add(p.getKey());
                assertFalse(p.getValue().path("description").asText().isBlank(), channel.getKey() + " " + p.getKey());
            });
            assertEquals(named, described, channel.getKey());
            JsonNode operation = document.path("operations").path("receive-" + channel.getKey());
            assertEquals("receive", operation.path("action").asText(), channel.getKey());
            assertEquals("#/channels/" + channel.getKey(), operation.at("/channel/$ref").asText());
            assertEquals(channel.getValue().path("messages").size(), operation.path("messages").size(), channel.getKey());
        });
        document.path("operations").forEach(operation -> assertEquals("receive", operation.path("action").asText()));
        assertEquals(document.path("channels").size(), document.path("operations").size());
    }

    @Test
    void should_have_a_message_for_every_schema_of_the_index_with_the_file_bundled() throws Exception {
        JsonNode document = document(app, "localhost");
        Set<String> used = new TreeSet<>();
        document.path("channels").forEach(channel -> channel.path("messages").forEach(ref -> used.add(ref.path("$ref").asText())));
        for (EventSchemas.Entry entry : index()) {
            String key = entry.file().replaceFirst("\\.json$", "").replace('/', '.');
            JsonNode message = document.at("/components/messages/" + key.replace("~", "~0").replace("/", "~1"));
            assertFalse(message.isMissingNode(), entry.file());
            assertEquals("/schemas/" + entry.file(), message.path("x-firehose-schema").asText());
            assertTrue(used.contains("#/components/messages/" + key), entry.file() + " is on no channel");
            String ref = message.at("/payload/$ref").asText();
            assertEquals("#/components/schemas/" + key, ref);
            JsonNode bundled = document.at("/components/schemas/" + key);
            JsonNode original = JSON.readTree(resource(entry.file()));
            assertEquals(original.path("title"), bundled.path("title"), entry.file());
            assertEquals(original.path("$schema"), bundled.path("$schema"), entry.file());
            assertEquals(new TreeSet<>(names(original.path("properties"))), new TreeSet<>(names(bundled.path("properties"))), entry.file());
        }
        // common.json comes along, with every relative reference now pointing inside the document
        assertFalse(document.at("/components/schemas/gerrit.common/$defs/account").isMissingNode());
        List<String> refs = new ArrayList<>();
        collectRefs(document.path("components").path("schemas"), refs);
        assertFalse(refs.isEmpty());
        for (String ref : refs) {
            assertTrue(ref.startsWith("#/components/schemas/"), ref);
            assertFalse(document.at(ref.substring(1)).isMissingNode(), ref);
        }
        // a $ref beside other keywords applies with them (2020-12): patchset-created keeps its own properties
        JsonNode created = document.at("/components/schemas/gerrit.patchset-created");
        assertEquals("#/components/schemas/gerrit.event", created.at("/allOf/0/$ref").asText());
        assertEquals("patchset-created", created.at("/properties/type/const").asText());
    }

    @Test
    void should_leave_out_closed_listeners_and_use_the_public_host(@TempDir Path otherData) throws Exception {
        try (FirehoseApp closed = FirehoseApp.builder(otherData)
                .set("firehose.broker.ws-port", "0")
                .set("firehose.broker.keystore", "")
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.public-host", "firehose.example.org")
                .start()) {
            JsonNode document = document(closed, "127.0.0.1:" + httpPort(closed));
            assertEquals(Map.of("mqtt", "firehose.example.org:" + closed.port("mqtt") + " mqtt"), servers(document));
            document.path("channels").forEach(channel -> assertFalse(channel.path("address").asText().startsWith("$SYS"), channel.toString()));
        }
    }

    @Test
    void should_serve_each_schema_file_as_it_is() throws Exception {
        int port = httpPort(app);
        List<String> files = new ArrayList<>(index().stream().map(EventSchemas.Entry::file).toList());
        files.add("gerrit/common.json");
        for (String file : files) {
            RawHttp.Response response = RawHttp.send(port, "GET", "/schemas/" + file, "localhost");
            assertEquals(200, response.status(), file);
            assertEquals("application/schema+json", response.header("Content-Type"), file);
            assertEquals("*", response.header("Access-Control-Allow-Origin"), file);
            assertArrayEquals(resource(file), response.body(), file);
        }
        RawHttp.Response head = RawHttp.send(port, "HEAD", "/schemas/gerrit/common.json", "localhost");
        assertEquals(200, head.status());
        assertEquals(String.valueOf(resource("gerrit/common.json").length), head.header("Content-Length"));
        for (String listing : List.of("/schemas/", "/schemas", "/schemas/index.json")) {
            RawHttp.Response response = RawHttp.send(port, "GET", listing, "localhost");
            assertEquals(200, response.status(), listing);
            assertEquals("application/json", response.header("Content-Type"), listing);
            assertEquals(JSON.readTree(resource("index.json")), JSON.readTree(response.body()), listing);
        }
    }

    @Test
    void should_answer_404_for_anything_else_under_schemas() throws Exception {
        int port = httpPort(app);
        for (String target : List.of("/schemas/gerrit/nope.json", "/schemas/gerrit/", "/schemas/gerrit", "/schemas/../application.properties",
                "/schemas/%2e%2e/application.properties", "/schemas/gerrit/..%2f..%2fapplication.properties",
                "/schemas/gerrit/../../application.properties", "/schemas/..%5capplication.properties",
                "/schemas//etc/passwd", "/schemas/GERRIT/COMMON.JSON", "/schemas/gerrit/common.json%00",
                "/schemas/log4j2.properties", "/schemas/../../../../etc/passwd")) {
            RawHttp.Response response = RawHttp.send(port, "GET", target, "localhost");
            assertEquals(404, response.status(), target + ": " + response.text());
            assertFalse(response.text().contains("firehose.broker") || response.text().contains("root:"), target);
        }
        assertEquals(405, RawHttp.send(port, "POST", "/schemas/gerrit/common.json", "localhost").status());
    }

    static byte[] resource(String file) throws IOException {
        try (InputStream in = AsyncApiIT.class.getClassLoader().getResourceAsStream("schemas/" + file)) {
            assertNotNull(in, file);
            return in.readAllBytes();
        }
    }

    private static List<String> names(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static void collectRefs(JsonNode node, List<String> refs) {
        if (node.isObject() && node.path("$ref").isTextual()) {
            refs.add(node.path("$ref").asText());
        }
        node.forEach(child -> collectRefs(child, refs));
    }
}
