package contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;
import firehose.ExternalTool;
import firehose.FirehoseApp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The served AsyncAPI document checked by AsyncAPI's reference parser, {@code @asyncapi/parser} 3.6.3 on Debian's
 * Node.js: any diagnostic of severity error fails the test, and every diagnostic is printed.
 *
 * <p>The parser is installed by {@code .ci/npm-tools} into {@code ~/.cache/firehose-npm} (or {@code $FIREHOSE_NPM_DIR},
 * or {@code -Dfirehose.npm-dir}). Without node or the parser the tests are skipped, saying why; with
 * {@code -Dfirehose.interop.required=true} they fail instead.
 */
class AsyncApiParserIT {

    static final String NODE = "/usr/bin/node";

    @TempDir
    static Path data;
    @TempDir
    static Path work;
    static FirehoseApp app;
    static Path npm;
    static Path script;

    /** Why the parser cannot run here; null when it can. */
    static String missing;

    @BeforeAll
    static void start() throws IOException {
        npm = npmDir();
        if (!Files.isExecutable(Path.of(NODE))) {
            missing = NODE + " is missing: apt-get install -y nodejs npm, then .ci/npm-tools";
        } else if (!Files.isRegularFile(npm.resolve("node_modules/@asyncapi/parser/package.json"))) {
            missing = "@asyncapi/parser is not installed in " + npm + ": run .ci/npm-tools";
        }
        if (missing != null) {
            return; // each test is skipped (or failed) with the reason, and no application is started for nothing
        }
        script = work.resolve("validate-asyncapi.js");
        try (InputStream in = AsyncApiParserIT.class.getResourceAsStream("/contract/validate-asyncapi.js")) {
            Files.write(script, in.readAllBytes());
        }
        app = FirehoseApp.builder(data).start();
    }

    @BeforeEach
    void requireTheParser() {
        if (missing != null) {
            if (Boolean.getBoolean("firehose.interop.required")) {
                fail(missing);
            }
            assumeTrue(false, missing);
        }
    }

    @AfterAll
    static void stop() {
        if (app != null) {
            app.close();
        }
    }

    @Test
    void should_parse_with_no_error() throws Exception {
        ExternalTool.Result result = parse("asyncapi.yaml", served());
        assertEquals(0, result.exitCode(), "the parser found errors:\n" + result.out() + result.err());
        assertTrue(result.out().contains("@asyncapi/parser 3.6.3: parsed, 0 error(s)"), result.out());
    }

    @Test
    void should_parse_the_document_of_an_application_with_fewer_listeners(@TempDir Path otherData) throws Exception {
        try (FirehoseApp closed = FirehoseApp.builder(otherData).set("firehose.broker.ws-port", "0").set("firehose.broker.keystore", "")
                .set("firehose.broker.sys-interval", "0").start()) {
            byte[] document = RawHttp.send(AsyncApiIT.httpPort(closed), "GET", "/asyncapi.yaml", "localhost").body();
            ExternalTool.Result result = parse("fewer.yaml", document);
            assertEquals(0, result.exitCode(), "the parser found errors:\n" + result.out() + result.err());
        }
    }

    /** The check itself: a document broken as a careless change would break it fails, with the parser's reason. */
    @Test
    void should_fail_on_a_broken_document() throws Exception {
        ObjectNode missingMessage = (ObjectNode) AsyncApiIT.YAML.readTree(served());
        ((ObjectNode) missingMessage.path("components").path("messages")).remove("subunit.result");
        assertBroken(parse("missing-message.yaml", AsyncApiIT.YAML.writeValueAsBytes(missingMessage)), "subunit.result");

        ObjectNode undeclaredParameter = (ObjectNode) AsyncApiIT.YAML.readTree(served());
        ((ObjectNode) undeclaredParameter.path("channels").path("gerrit").path("parameters")).remove("repo");
        assertBroken(parse("undeclared-parameter.yaml", AsyncApiIT.YAML.writeValueAsBytes(undeclaredParameter)), "repo");

        ObjectNode badSchema = (ObjectNode) AsyncApiIT.YAML.readTree(served());
        ((ObjectNode) badSchema.path("components").path("schemas").path("launchpad.bug")).put("type", "bug report");
        assertBroken(parse("bad-schema.yaml", AsyncApiIT.YAML.writeValueAsBytes(badSchema)), "launchpad.bug");
    }

    private static void assertBroken(ExternalTool.Result result, String about) {
        assertEquals(1, result.exitCode(), result.out() + result.err());
        List<String> errors = result.out().lines().filter(line -> line.startsWith("error ")).toList();
        assertFalse(errors.isEmpty(), result.out());
        assertTrue(errors.stream().anyMatch(line -> line.contains(about)), about + " in " + errors);
    }

    private static byte[] served() throws IOException {
        RawHttp.Response response = RawHttp.send(AsyncApiIT.httpPort(app), "GET", "/asyncapi.yaml", "localhost");
        assertEquals(200, response.status(), response.text());
        return response.body();
    }

    private static ExternalTool.Result parse(String name, byte[] document) throws IOException {
        Path file = work.resolve(name);
        Files.write(file, document);
        ExternalTool.Result result = ExternalTool.run(Duration.ofSeconds(120), NODE, script.toString(), npm.toString(), file.toString());
        System.out.println("@asyncapi/parser on " + name + ":\n" + result.out() + result.err());
        if (result.exitCode() == 2) {
            fail("the parser could not be loaded: " + result.err());
        }
        return result;
    }

    static Path npmDir() {
        String configured = System.getProperty("firehose.npm-dir", System.getenv("FIREHOSE_NPM_DIR"));
        return configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "firehose-npm");
    }
}
