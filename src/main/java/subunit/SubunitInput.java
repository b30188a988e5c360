package subunit;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/** A subunit stream as received: gzip is recognised by its magic bytes, whatever the file name or content type. */
public final class SubunitInput {

    private SubunitInput() {
    }

    /** The decompressed stream; broken gzip data surfaces as {@link SubunitFormatException}. */
    public static InputStream open(InputStream raw) throws IOException {
        PushbackInputStream in = new PushbackInputStream(raw, 2);
        byte[] magic = in.readNBytes(2);
        in.unread(magic);
        if (magic.length == 2 && (magic[0] & 0xFF) == 0x1F && (magic[1] & 0xFF) == 0x8B) {
            try {
                return new Gunzipped(new GZIPInputStream(in, 64 * 1024));
            } catch (ZipException | EOFException e) {
                throw new SubunitFormatException("broken gzip data: " + e.getMessage(), e);
            }
        }
        return in;
    }

    /** Turns the JDK's gzip errors (truncated member, bad CRC) into format errors. */
    private static final class Gunzipped extends FilterInputStream {
        Gunzipped(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (ZipException | EOFException e) {
                throw new SubunitFormatException("broken gzip data: " + e.getMessage(), e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (ZipException | EOFException e) {
                throw new SubunitFormatException("broken gzip data: " + e.getMessage(), e);
            }
        }
    }
}
