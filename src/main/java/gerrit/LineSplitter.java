package gerrit;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.util.function.Consumer;

/**
 * The stream's stdout: bytes in as MINA SSHD receives them, lines out at {@code \n}, each with its exact bytes,
 * handed on in the SSH session's own thread (no hand-over between threads per event). Lines are bounded in length.
 */
final class LineSplitter extends OutputStream {

    /** Handed on in place of a line longer than the limit (whose bytes are dropped). */
    static final byte[] TOO_LONG = new byte[0];

    private final int maxLength;
    private final Consumer<byte[]> onLine;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private volatile boolean overlong;

    LineSplitter(int maxLength, Consumer<byte[]> onLine) {
        this.maxLength = maxLength;
        this.onLine = onLine;
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
        int end = offset + length;
        int start = offset;
        for (int i = offset; i < end; i++) {
            if (bytes[i] == '\n') {
                append(bytes, start, i - start);
                start = i + 1;
                complete();
            }
        }
        append(bytes, start, end - start);
    }

    /** True when bytes of an unfinished line are pending: if the stream ends now, that line is lost. */
    boolean midLine() {
        return line.size() > 0 || overlong;
    }

    private void complete() {
        boolean dropped = overlong;
        overlong = false;
        byte[] complete = line.toByteArray();
        line.reset();
        if (dropped) {
            onLine.accept(TOO_LONG);
        } else if (complete.length > 0) {
            onLine.accept(complete);
        }
    }

    private void append(byte[] bytes, int from, int count) {
        if (overlong || count == 0) {
            return;
        }
        if (line.size() + count > maxLength) {
            overlong = true;
            line.reset();
            return;
        }
        line.write(bytes, from, count);
    }
}
