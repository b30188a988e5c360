package subunit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import firehose.ExternalTool;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Java parser against Debian's python3-subunit on the same streams: the counts {@code subunit-stats} prints, and
 * every summary field as computed from python-subunit's own parser ({@code summary.py}).
 */
class SubunitInteropIT {

    private static final Path STREAMS = SubunitSummaryTest.STREAMS;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void tools() {
        ExternalTool.require("/usr/bin/subunit-stats", "--help");
        ExternalTool.require("/usr/bin/python3", "-c", "import subunit, testtools");
    }

    private static Path plain(String name) throws IOException {
        if (!name.endsWith(".gz")) {
            return STREAMS.resolve(name);
        }
        Path out = Files.createTempFile("subunit", ".subunit");
        out.toFile().deleteOnExit();
        try (InputStream in = SubunitInput.open(Files.newInputStream(STREAMS.resolve(name)))) {
            Files.copy(in, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"successful.subunit", "all_skips.subunit", "mixed.subunit", "passing-with-xfail.subunit",
            "uxsuccess.subunit", "big-tracebacks.subunit.gz"})
    void should_count_what_subunit_stats_counts(String name) throws IOException {
        Path stream = plain(name);
        ExternalTool.Result stats = ExternalTool.run(TIMEOUT, stream, List.of("/usr/bin/subunit-stats"));
        // exit status 1 says the run had failures
        assertEquals(ours(stream).failed() > 0 ? 1 : 0, stats.exitCode(), stats.err()); // 1: failures (uxsuccess is not one to subunit-stats)
        SubunitSummary ours = SubunitSummaryTest.summarize(Files.readAllBytes(stream));
        assertEquals(count(stats.out(), "Total tests"), ours.total(), stats.out());
        assertEquals(count(stats.out(), "Failed tests"), ours.failed(), stats.out());
        assertEquals(count(stats.out(), "Skipped tests"), ours.skipped(), stats.out());
        // subunit-stats' "passed" is everything neither failed nor skipped
        assertEquals(count(stats.out(), "Passed tests"), ours.passed() + ours.xfail() + ours.uxsuccess(), stats.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"successful.subunit", "all_skips.subunit", "mixed.subunit", "passing-with-xfail.subunit",
            "uxsuccess.subunit", "big-tracebacks.subunit.gz"})
    void should_summarize_like_python_subunit(String name) throws IOException {
        Path stream = plain(name);
        ExternalTool.Result python = ExternalTool.run(TIMEOUT, stream, List.of("/usr/bin/python3", STREAMS.resolve("summary.py").toString()));
        assertEquals(0, python.exitCode(), python.err());
        JsonNode expected = JSON.readTree(python.out());
        ObjectNode event = SubunitEvent.build(JsonNodeFactory.instance.objectNode(), SubunitSummaryTest.summarize(Files.readAllBytes(stream)));
        for (String field : List.of("total", "passed", "failed", "skipped", "xfail", "uxsuccess")) {
            assertEquals(expected.get(field).longValue(), event.get("tests").get(field).longValue(), field);
        }
        assertEquals(expected.get("failures"), event.get("failures"));
        assertEquals(expected.get("run_at"), event.get("run_at"));
        assertEquals(expected.get("duration_seconds").doubleValue(), event.get("duration_seconds").doubleValue(), 0.0011);
    }

    private static SubunitSummary ours(Path stream) throws IOException {
        return SubunitSummaryTest.summarize(Files.readAllBytes(stream));
    }

    private static long count(String statsOutput, String label) {
        Matcher m = Pattern.compile(label + ":\\s+(\\d+)").matcher(statsOutput);
        if (!m.find()) {
            throw new AssertionError("no '" + label + "' in " + statsOutput);
        }
        return Long.parseLong(m.group(1));
    }
}
