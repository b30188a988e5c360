package subunit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** The parser and the run summary on real subunit v2 streams (samples and make-subunit.py output), and on broken ones. */
class SubunitSummaryTest {

    static final Path STREAMS = Path.of("src/test/resources/subunit");

    static SubunitSummary summarize(String name) throws IOException {
        try (InputStream in = SubunitInput.open(Files.newInputStream(STREAMS.resolve(name)))) {
            return SubunitSummary.of(in, 100);
        }
    }

    static SubunitSummary summarize(byte[] bytes) throws IOException {
        return SubunitSummary.of(SubunitInput.open(new ByteArrayInputStream(bytes)), 100);
    }

    static byte[] bytes(String name) throws IOException {
        return Files.readAllBytes(STREAMS.resolve(name));
    }

    @Test
    void should_count_a_mixed_run_like_subunit_stats() throws IOException {
        SubunitSummary run = summarize("mixed.subunit");
        assertEquals(200, run.total());
        assertEquals(177, run.passed());
        assertEquals(7, run.failed());
        assertEquals(11, run.skipped());
        assertEquals(3, run.xfail());
        assertEquals(2, run.uxsuccess());
        assertEquals("failed", run.status());
        assertEquals(List.of("project.tests.unit.test_module_1.TestCase1.test_case_1",
                "project.tests.unit.test_module_12.TestCase2.test_case_12",
                "project.tests.unit.test_module_15.TestCase0.test_case_15",
                "project.tests.unit.test_module_6.TestCase3.test_case_23",
                "project.tests.unit.test_module_8.TestCase2.test_case_42",
                "project.tests.unit.test_module_13.TestCase1.test_case_81",
                "project.tests.unit.test_module_10.TestCase2.test_case_112",
                "project.tests.unit.test_module_16.TestCase3.test_case_118",
                "project.tests.unit.test_module_15.TestCase0.test_case_185"), run.failures());
        assertEquals(91.717, run.durationSeconds());
        ObjectNode event = SubunitEvent.build(JsonNodeFactory.instance.objectNode(), run);
        assertEquals("2026-11-01T12:00:00.000000Z", event.get("run_at").textValue());
    }

    @Test
    void should_read_gzip_like_the_plain_stream() throws IOException {
        SubunitSummary plain = summarize("mixed.subunit");
        SubunitSummary gz = summarize("mixed.subunit.gz");
        assertEquals(plain.total(), gz.total());
        assertEquals(plain.failures(), gz.failures());
        assertEquals(plain.fingerprint(), gz.fingerprint());
    }

    @Test
    void should_read_the_openstack_samples() throws IOException {
        SubunitSummary ok = summarize("successful.subunit");
        assertEquals(List.of(21L, 20L, 0L, 1L), List.of(ok.total(), ok.passed(), ok.failed(), ok.skipped()));
        assertEquals("success", ok.status());
        assertEquals("2015-09-23T04:11:12.442035Z",
                SubunitEvent.build(JsonNodeFactory.instance.objectNode(), ok).get("run_at").textValue());
        assertEquals(1.798, ok.durationSeconds());
        SubunitSummary skips = summarize("all_skips.subunit");
        assertEquals(List.of(7L, 0L, 0L, 7L), List.of(skips.total(), skips.passed(), skips.failed(), skips.skipped()));
        assertEquals("success", skips.status());
    }

    @Test
    void should_call_xfail_a_success_and_uxsuccess_a_failure() throws IOException {
        SubunitSummary xfail = summarize("passing-with-xfail.subunit");
        assertEquals(1, xfail.xfail());
        assertEquals("success", xfail.status());
        assertTrue(xfail.failures().isEmpty());
        SubunitSummary ux = summarize("uxsuccess.subunit");
        assertEquals(1, ux.uxsuccess());
        assertEquals(0, ux.failed());
        assertEquals("failed", ux.status());
        assertEquals(List.of("project.tests.unit.test_module_15.TestCase0.test_case_15"), ux.failures());
    }

    @Test
    void should_skip_attachments_larger_than_the_buffer() throws IOException {
        SubunitSummary run = summarize("big-tracebacks.subunit.gz"); // three ~3 MB tracebacks
        assertEquals(List.of(12L, 8L, 3L, 1L), List.of(run.total(), run.passed(), run.failed(), run.skipped()));
        assertTrue(run.bytes() > 9_000_000, "read " + run.bytes());
    }

    @Test
    void should_cap_the_failure_list() throws IOException {
        SubunitSummary run;
        try (InputStream in = Files.newInputStream(STREAMS.resolve("mixed.subunit"))) {
            run = SubunitSummary.of(in, 2);
        }
        assertEquals(7, run.failed());
        assertEquals(2, run.failures().size());
    }

    @Test
    void should_count_a_test_left_in_progress_as_failed() throws IOException {
        byte[] whole = bytes("mixed.subunit");
        // cut after a whole packet: the last test started but never finished
        int cut = lastPacketStart(whole);
        SubunitSummary run = summarize(Arrays.copyOf(whole, cut));
        assertEquals(200, run.total());
        assertEquals(8, run.failed());
        assertEquals(summarize(whole).failed() + 1, run.failed(), "the test left in progress counts as failed");
        assertEquals(192, run.passed() + run.skipped() + run.xfail() + run.uxsuccess());
        assertEquals("project.tests.unit.test_module_12.TestCase4.test_case_199", run.failures().get(run.failures().size() - 1));
        assertEquals("failed", run.status());
    }

    private static int lastPacketStart(byte[] stream) throws IOException {
        int[] starts = new int[2];
        SubunitParser parser = new SubunitParser(new ByteArrayInputStream(stream));
        parser.parse(packet -> {
            starts[0] = starts[1];
            starts[1] = (int) packet.offset();
        });
        return starts[1];
    }

    @Test
    void should_refuse_a_truncated_stream() {
        byte[] whole = assertDoesNotThrowBytes("mixed.subunit");
        SubunitFormatException e = assertThrows(SubunitFormatException.class, () -> summarize(Arrays.copyOf(whole, whole.length - 3)));
        assertTrue(e.getMessage().startsWith("truncated stream: the packet at offset "), e.getMessage());
    }

    @Test
    void should_refuse_a_crc_mismatch() {
        byte[] stream = assertDoesNotThrowBytes("mixed.subunit");
        stream[stream.length / 2] ^= 0x01; // one bit, inside some packet
        SubunitFormatException e = assertThrows(SubunitFormatException.class, () -> summarize(stream));
        assertTrue(e.getMessage().contains("CRC32 mismatch") || e.getMessage().contains("packet at offset"), e.getMessage());
    }

    @Test
    void should_refuse_a_changed_test_id_by_its_checksum() {
        byte[] stream = assertDoesNotThrowBytes("successful.subunit");
        int at = indexOf(stream, "test_parallel".getBytes(StandardCharsets.US_ASCII));
        stream[at] = 'T';
        SubunitFormatException e = assertThrows(SubunitFormatException.class, () -> summarize(stream));
        assertEquals("packet at offset 0: CRC32 mismatch", e.getMessage().substring(0, e.getMessage().indexOf(" (")));
    }

    @Test
    void should_refuse_a_subunit_v1_stream_and_say_so() {
        SubunitFormatException e = assertThrows(SubunitFormatException.class, () -> summarize("v1-successful.subunit"));
        assertTrue(e.getMessage().contains("subunit v1"), e.getMessage());
    }

    @Test
    void should_refuse_other_files() {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        SubunitFormatException e = assertThrows(SubunitFormatException.class, () -> summarize(png));
        assertEquals("not a subunit v2 stream: byte 0x89 at offset 0 where a packet should start (0xb3)", e.getMessage());
        byte[] junkAfter = concat(assertDoesNotThrowBytes("successful.subunit"), "trailing junk".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(SubunitFormatException.class, () -> summarize(junkAfter));
        assertEquals("not a subunit v2 stream: byte 0x74 at offset 12563 where a packet should start (0xb3)", e.getMessage());
    }

    @Test
    void should_refuse_an_empty_input() {
        SubunitFormatException e = assertThrows(SubunitFormatException.class, () -> summarize(new byte[0]));
        assertEquals("empty input: no subunit packets", e.getMessage());
    }

    @Test
    void should_refuse_broken_gzip() {
        byte[] gz = assertDoesNotThrowBytes("mixed.subunit.gz");
        SubunitFormatException e = assertThrows(SubunitFormatException.class, () -> summarize(Arrays.copyOf(gz, gz.length / 2)));
        assertTrue(e.getMessage().startsWith("broken gzip data"), e.getMessage());
    }

    @Test
    void should_refuse_another_protocol_version() {
        byte[] stream = assertDoesNotThrowBytes("successful.subunit");
        stream[1] = (byte) ((stream[1] & 0x0F) | 0x30); // version 3 in the flags' top nibble
        SubunitFormatException e = assertThrows(SubunitFormatException.class, () -> summarize(stream));
        assertEquals("packet at offset 0: version 3, only subunit v2 is read", e.getMessage());
    }

    @Test
    void should_ignore_enumeration_packets() throws IOException {
        // "exists" packets list tests without running them; subunit-stats does not count them
        byte[] exists = packet(0x2000 | SubunitParser.FLAG_TEST_ID | 1, "listed.only");
        SubunitSummary run = summarize(concat(exists, assertDoesNotThrowBytes("all_skips.subunit")));
        assertEquals(7, run.total());
    }

    /** A minimal packet with a test id, written by hand the way the protocol says. */
    static byte[] packet(int flags, String testId) {
        byte[] id = testId.getBytes(StandardCharsets.UTF_8);
        int length = 1 + 2 + 1 + 1 + id.length + 4; // signature, flags, length (1 byte), id length, id, CRC
        byte[] out = new byte[length];
        out[0] = (byte) 0xB3;
        out[1] = (byte) (flags >> 8);
        out[2] = (byte) flags;
        out[3] = (byte) length;
        out[4] = (byte) id.length;
        System.arraycopy(id, 0, out, 5, id.length);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(out, 0, length - 4);
        long value = crc.getValue();
        for (int i = 0; i < 4; i++) {
            out[length - 4 + i] = (byte) (value >>> (24 - 8 * i));
        }
        return out;
    }

    private static byte[] assertDoesNotThrowBytes(String name) {
        try {
            return bytes(name);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
