package gerrit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class LineSplitterTest {

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void lines_keep_their_exact_bytes_whatever_the_chunks() {
        List<byte[]> lines = new ArrayList<>();
        LineSplitter splitter = new LineSplitter(1000, lines::add);
        byte[] text = utf8("{\"a\":\"ü漢\"}\n\n{\"b\":2}\r\n");
        for (byte b : text) {
            splitter.write(new byte[] {b}, 0, 1); // one byte at a time, the worst case for splitting
        }
        assertEquals(2, lines.size(), "the empty line is no event");
        assertArrayEquals(utf8("{\"a\":\"ü漢\"}"), lines.get(0));
        assertArrayEquals(utf8("{\"b\":2}\r"), lines.get(1), "only the newline is taken off");
        assertFalse(splitter.midLine());
    }

    @Test
    void several_lines_in_one_chunk_and_a_line_across_chunks() {
        List<byte[]> lines = new ArrayList<>();
        LineSplitter splitter = new LineSplitter(1000, lines::add);
        byte[] chunk = utf8("one\ntwo\nthr");
        splitter.write(chunk, 0, chunk.length);
        assertTrue(splitter.midLine());
        byte[] rest = utf8("ee\n");
        splitter.write(rest, 0, rest.length);
        assertEquals(List.of("one", "two", "three"), lines.stream().map(l -> new String(l, StandardCharsets.UTF_8)).toList());
    }

    @Test
    void an_overlong_line_is_dropped_whole_and_the_next_one_is_read() {
        List<byte[]> lines = new ArrayList<>();
        LineSplitter splitter = new LineSplitter(10, lines::add);
        byte[] text = utf8("x".repeat(100) + "\nok\n");
        splitter.write(text, 0, 50);
        splitter.write(text, 50, text.length - 50);
        assertSame(LineSplitter.TOO_LONG, lines.get(0));
        assertArrayEquals(utf8("ok"), lines.get(1));
    }
}
