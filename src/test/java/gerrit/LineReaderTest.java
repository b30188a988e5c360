package gerrit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class LineReaderTest {

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void lines_keep_their_exact_bytes_across_reads_of_any_size() throws IOException {
        String text = "{\"a\":\"ü漢\"}\n\n{\"b\":2}\r\n";
        // one byte per read, the worst case for line splitting
        InputStream trickle = new InputStream() {
            final ByteArrayInputStream in = new ByteArrayInputStream(utf8(text));

            @Override
            public int read() {
                return in.read();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                return in.read(b, off, Math.min(len, 1));
            }
        };
        LineReader reader = new LineReader(trickle, 1000);
        assertArrayEquals(utf8("{\"a\":\"ü漢\"}"), reader.next());
        assertArrayEquals(utf8("{\"b\":2}\r"), reader.next(), "only the newline is taken off");
        assertNull(reader.next());
        assertFalse(reader.midLine());
    }

    @Test
    void an_overlong_line_is_dropped_whole_and_the_next_one_is_read() throws IOException {
        LineReader reader = new LineReader(new ByteArrayInputStream(utf8("x".repeat(100) + "\nok\n")), 10);
        assertSame(LineReader.TOO_LONG, reader.next());
        assertArrayEquals(utf8("ok"), reader.next());
    }

    @Test
    void an_unfinished_last_line_is_reported_not_returned() throws IOException {
        LineReader reader = new LineReader(new ByteArrayInputStream(utf8("{\"done\":1}\n{\"half")), 100);
        assertArrayEquals(utf8("{\"done\":1}"), reader.next());
        assertNull(reader.next());
        assertTrue(reader.midLine());
    }
}
