package gerrit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/** Splits a byte stream into lines at {@code \n}, keeping each line's bytes exactly, and bounding their length. */
final class LineReader {

    /** Returned in place of a line longer than the limit (its bytes are read and dropped). */
    static final byte[] TOO_LONG = new byte[0];

    private final InputStream in;
    private final int maxLength;
    private final byte[] buffer = new byte[64 * 1024];
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private int position;
    private int limit;
    private boolean overlong;

    LineReader(InputStream in, int maxLength) {
        this.in = in;
        this.maxLength = maxLength;
    }

    /** The next line without its {@code \n}, {@link #TOO_LONG}, or null at the end of the stream. */
    byte[] next() throws IOException {
        while (true) {
            if (position == limit) {
                limit = in.read(buffer);
                position = 0;
                if (limit <= 0) {
                    limit = 0;
                    return null;
                }
            }
            int start = position;
            while (position < limit && buffer[position] != '\n') {
                position++;
            }
            append(start, position - start);
            if (position < limit) {
                position++; // the newline
                boolean dropped = overlong;
                overlong = false;
                byte[] complete = line.toByteArray();
                line.reset();
                if (dropped) {
                    return TOO_LONG;
                }
                if (complete.length > 0) {
                    return complete;
                }
            }
        }
    }

    /** True when bytes of an unfinished line are pending: if the stream ends now, that line is lost. */
    boolean midLine() {
        return line.size() > 0 || overlong;
    }

    private void append(int from, int count) {
        if (overlong) {
            return;
        }
        if (line.size() + count > maxLength) {
            overlong = true;
            line.reset();
            return;
        }
        line.write(buffer, from, count);
    }
}
