package subunit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Streaming reader of the subunit v2 binary protocol. Each packet: signature {@code 0xB3}, 16-bit flags (version 2 in
 * the top nibble), its total length as a variable-length number, then the fields the flags announce (timestamp,
 * test id, tags, MIME type, file content, routing code) and a CRC32 of everything before it. Memory stays bounded
 * whatever the stream's size: one 64 KiB buffer, attachments are checksummed and skipped, never kept.
 */
public final class SubunitParser {

    /** Receives each packet; the {@link Packet} object is reused for the next one. */
    @FunctionalInterface
    public interface Listener {
        void packet(Packet packet) throws SubunitFormatException;
    }

    public static final int SIGNATURE = 0xB3;
    public static final int FLAG_TEST_ID = 0x0800;
    public static final int FLAG_ROUTE_CODE = 0x0400;
    public static final int FLAG_TIMESTAMP = 0x0200;
    public static final int FLAG_TAGS = 0x0080;
    public static final int FLAG_FILE_CONTENT = 0x0040;
    public static final int FLAG_MIME_TYPE = 0x0020;

    private final InputStream in;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int limit;
    /** Stream offset of {@code buf[0]}. */
    private long base;
    private final CRC32 crc = new CRC32();
    /** First byte in {@code buf} of the current packet not yet added to {@link #crc}. */
    private int crcFrom;
    private long packets;
    private long fingerprint;
    private final Packet packet = new Packet();

    public SubunitParser(InputStream in) {
        this.in = in;
    }

    /** Stream bytes read so far. */
    public long offset() {
        return base + pos;
    }

    public long packets() {
        return packets;
    }

    /** A digest of the packets' checksums: two streams that differ anywhere differ here (but for CRC collisions). */
    public long fingerprint() {
        return fingerprint;
    }

    /** Reads every packet to the end of the stream; throws at the first byte that breaks the protocol. */
    public void parse(Listener listener) throws IOException {
        while (available(1)) {
            long start = offset();
            int signature = buf[pos] & 0xFF;
            if (signature != SIGNATURE) {
                throw new SubunitFormatException(notAPacket(start, signature));
            }
            crc.reset();
            crcFrom = pos;
            pos++;
            int flags = (u8(start) << 8) | u8(start);
            int version = flags >>> 12;
            if (version != 2) {
                throw new SubunitFormatException("packet at offset " + start + ": version " + version + ", only subunit v2 is read");
            }
            int length = number(start, 3);
            long end = start + length - 4; // the CRC's offset
            if (length < 8 || offset() > end) {
                throw new SubunitFormatException("packet at offset " + start + ": declared length " + length + " is too short");
            }
            packet.clear(start, flags);
            if ((flags & FLAG_TIMESTAMP) != 0) {
                packet.seconds = (((long) u8(start)) << 24) | (u8(start) << 16) | (u8(start) << 8) | u8(start);
                packet.nanos = number(start, 4);
            }
            if ((flags & FLAG_TEST_ID) != 0) {
                packet.testId = string(start, end);
            }
            if ((flags & FLAG_TAGS) != 0) {
                int count = number(start, 4);
                for (int i = 0; i < count; i++) {
                    skip(start, end, number(start, 4));
                }
            }
            if ((flags & FLAG_MIME_TYPE) != 0) {
                skip(start, end, number(start, 4));
            }
            if ((flags & FLAG_FILE_CONTENT) != 0) {
                skip(start, end, number(start, 4)); // the file's name
                skip(start, end, number(start, 4)); // its bytes
            }
            if ((flags & FLAG_ROUTE_CODE) != 0) {
                packet.routeCode = string(start, end);
            }
            if (offset() > end) {
                throw new SubunitFormatException("packet at offset " + start + ": fields run past its declared length " + length);
            }
            skip(start, end, (int) (end - offset())); // bytes of fields this reader does not know
            need(start, 4);
            crc.update(buf, crcFrom, pos - crcFrom);
            long stored = ((long) (buf[pos] & 0xFF) << 24) | ((buf[pos + 1] & 0xFF) << 16) | ((buf[pos + 2] & 0xFF) << 8) | (buf[pos + 3] & 0xFF);
            pos += 4;
            if (stored != crc.getValue()) {
                throw new SubunitFormatException(String.format("packet at offset %d: CRC32 mismatch (stored 0x%08x, computed 0x%08x)",
                        start, stored, crc.getValue()));
            }
            packets++;
            fingerprint = fingerprint * 1_000_003L + stored;
            listener.packet(packet);
        }
    }

    private static String notAPacket(long offset, int b) {
        if (offset == 0 && (b == 't' || b == 's' || b == 'p' || b == 'e' || b == 'x' || b == 'u' || b == 'f' || b == 'd')) {
            return "not a subunit v2 stream: starts with text (\"" + (char) b + "...\"); a subunit v1 stream? convert it with subunit-1to2";
        }
        if (offset == 0 && b == 0x1F) {
            return "not a subunit v2 stream: starts with 0x1f (gzip data that was not decompressed?)";
        }
        return String.format("not a subunit v2 stream: byte 0x%02x at offset %d where a packet should start (0xb3)", b, offset);
    }

    /** One unsigned byte of the current packet. */
    private int u8(long start) throws IOException {
        need(start, 1);
        return buf[pos++] & 0xFF;
    }

    /** A variable-length number: the top two bits of the first byte say how many bytes follow (0 to 3). */
    private int number(long start, int maxBytes) throws IOException {
        int first = u8(start);
        int more = first >>> 6;
        if (more + 1 > maxBytes) {
            throw new SubunitFormatException("packet at offset " + start + ": a " + (more + 1) + "-byte number where at most " + maxBytes + " may be");
        }
        int value = first & 0x3F;
        for (int i = 0; i < more; i++) {
            value = (value << 8) | u8(start);
        }
        return value;
    }

    private String string(long start, long end) throws IOException {
        int length = number(start, 4);
        if (offset() + length > end) {
            throw new SubunitFormatException("packet at offset " + start + ": a " + length + "-byte string runs past the packet's end");
        }
        if (length <= buf.length) {
            need(start, length);
            String value = new String(buf, pos, length, StandardCharsets.UTF_8);
            pos += length;
            return value;
        }
        byte[] bytes = new byte[length]; // bounded by the packet length (4 MiB)
        for (int done = 0; done < length; ) {
            need(start, 1);
            int n = Math.min(length - done, limit - pos);
            System.arraycopy(buf, pos, bytes, done, n);
            pos += n;
            done += n;
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Passes over {@code n} bytes of the packet, adding them to the checksum. */
    private void skip(long start, long end, int n) throws IOException {
        if (offset() + n > end) {
            throw new SubunitFormatException("packet at offset " + start + ": a " + n + "-byte field runs past the packet's end");
        }
        while (n > 0) {
            need(start, 1);
            int step = Math.min(n, limit - pos);
            pos += step;
            n -= step;
        }
    }

    /** Makes {@code n} bytes of the packet that starts at {@code start} available, or reports the stream truncated. */
    private void need(long start, int n) throws IOException {
        if (!available(n)) {
            throw new SubunitFormatException("truncated stream: the packet at offset " + start + " is cut off at offset " + (base + limit));
        }
    }

    /** True when {@code n} (at most the buffer's size) unread bytes are in the buffer; false at the end of the stream. */
    private boolean available(int n) throws IOException {
        if (limit - pos >= n) {
            return true;
        }
        if (pos > 0) {
            crc.update(buf, crcFrom, Math.max(0, pos - crcFrom));
            System.arraycopy(buf, pos, buf, 0, limit - pos);
            base += pos;
            limit -= pos;
            pos = 0;
            crcFrom = 0;
        }
        while (limit < n) {
            int read = in.read(buf, limit, buf.length - limit);
            if (read < 0) {
                return false;
            }
            limit += read;
        }
        return true;
    }

    /** What one packet said, as far as a run summary needs it. */
    public static final class Packet {
        long offset;
        int flags;
        String testId;
        String routeCode;
        long seconds = -1;
        int nanos;

        void clear(long offset, int flags) {
            this.offset = offset;
            this.flags = flags;
            testId = null;
            routeCode = null;
            seconds = -1;
            nanos = 0;
        }

        public long offset() {
            return offset;
        }

        /** 0 undefined, 1 exists, 2 inprogress, 3 success, 4 uxsuccess, 5 skip, 6 fail, 7 xfail. */
        public int status() {
            return flags & 0x7;
        }

        public String testId() {
            return testId;
        }

        public String routeCode() {
            return routeCode;
        }

        public boolean hasTimestamp() {
            return seconds >= 0;
        }

        /** Seconds since the epoch, UTC, when {@link #hasTimestamp()}. */
        public long seconds() {
            return seconds;
        }

        public int nanos() {
            return nanos;
        }
    }
}
