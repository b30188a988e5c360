package history;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One {@code GET /events} stream as a client reads it: HTTP/1.1 over a plain socket (so that a test controls when the
 * connection is closed), the chunked body decoded, Server-Sent Events parsed as a browser's EventSource does, and each
 * message and comment handed to a queue a test polls with a deadline. An answer other than 200 is read whole instead.
 */
public final class EventStreamClient implements AutoCloseable {

    /** One SSE message: its {@code id} field, its data (lines joined by a line feed) and how many data lines it had. */
    public record Message(String id, String data, int dataLines) {

        @Override
        public String toString() {
            return "Message[id=" + id + ", data=" + (data.length() > 150 ? data.substring(0, 150) + "…" : data) + "]";
        }

        JsonNode json() {
            try {
                return HistoryClient.JSON.readTree(data);
            } catch (IOException e) {
                throw new AssertionError("data is not JSON: " + data, e);
            }
        }
    }

    private static final Duration CONNECT = Duration.ofSeconds(10);

    private final Socket socket;
    private final int status;
    private final Map<String, String> headers;
    private final byte[] body;
    private final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> comments = new LinkedBlockingQueue<>();
    private final List<String> fields = new ArrayList<>();
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile String firstLine;
    private volatile Throwable endedBy;

    private EventStreamClient(Socket socket, int status, Map<String, String> headers, byte[] body) {
        this.socket = socket;
        this.status = status;
        this.headers = headers;
        this.body = body;
    }

    /**
     * Sends {@code GET pathAndQuery} (written as given: percent-encode it) with the headers given, reads the answer's
     * head, and for a 200 starts reading the stream; for another status reads the answer's body and closes.
     */
    public static EventStreamClient open(String baseUrl, String pathAndQuery, String... headerNamesAndValues) throws IOException {
        return open(baseUrl, 0, pathAndQuery, headerNamesAndValues);
    }

    /** As {@link #open(String, String, String...)}, reading the stream at {@code bytesPerSecond} at most (0: at once). */
    static EventStreamClient open(String baseUrl, long bytesPerSecond, String pathAndQuery, String... headerNamesAndValues) throws IOException {
        URI base = URI.create(baseUrl);
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(base.getHost(), base.getPort()), (int) CONNECT.toMillis());
            socket.setSoTimeout((int) CONNECT.toMillis()); // for the head; the stream itself may be quiet for long
            sendRequest(socket, base, pathAndQuery, headerNamesAndValues);
            InputStream in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
            String statusLine = line(in);
            String[] parts = statusLine.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP answer: '" + statusLine + "'");
            }
            int status = Integer.parseInt(parts[1]);
            Map<String, String> headers = new LinkedHashMap<>();
            for (String header = line(in); !header.isEmpty(); header = line(in)) {
                int colon = header.indexOf(':');
                headers.put(header.substring(0, colon).trim().toLowerCase(Locale.ROOT), header.substring(colon + 1).trim());
            }
            boolean chunked = "chunked".equalsIgnoreCase(headers.get("transfer-encoding"));
            if (status != 200) {
                byte[] body = chunked ? dechunkAll(in) : in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
                socket.close();
                return new EventStreamClient(socket, status, headers, body);
            }
            socket.setSoTimeout(0);
            EventStreamClient client = new EventStreamClient(socket, status, headers, new byte[0]);
            InputStream paced = bytesPerSecond > 0 ? new Paced(in, bytesPerSecond) : in;
            Thread reader = new Thread(() -> client.read(paced, chunked), "sse-reader-" + pathAndQuery);
            reader.setDaemon(true);
            reader.start();
            return client;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** Writes a GET request for {@code pathAndQuery} on {@code socket}. */
    static void sendRequest(Socket socket, URI base, String pathAndQuery, String... headerNamesAndValues) throws IOException {
        StringBuilder request = new StringBuilder("GET ").append(pathAndQuery).append(" HTTP/1.1\r\nHost: ").append(base.getHost())
                .append(':').append(base.getPort()).append("\r\nAccept: text/event-stream\r\n");
        for (int i = 0; i < headerNamesAndValues.length; i += 2) {
            request.append(headerNamesAndValues[i]).append(": ").append(headerNamesAndValues[i + 1]).append("\r\n");
        }
        OutputStream out = socket.getOutputStream();
        out.write(request.append("\r\n").toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    public int status() {
        return status;
    }

    /** A header of the answer (name in any case), or null. */
    String header(String name) {
        return headers.get(name.toLowerCase(Locale.ROOT));
    }

    /** The body of an answer other than 200. */
    String body() {
        return new String(body, StandardCharsets.UTF_8);
    }

    /** The first line of the stream. */
    String firstLine() {
        return firstLine;
    }

    /** The next message, or null if none came within {@code timeout}. */
    public Message poll(Duration timeout) throws InterruptedException {
        return messages.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The next {@code count} messages; fails if they do not all come within {@code timeout}. */
    public List<Message> take(int count, Duration timeout) throws InterruptedException {
        return collect(m -> false, count, timeout, count + " messages");
    }

    /**
     * The next messages up to the first that {@code last} accepts (a gap before it shows in what is returned), at most
     * {@code max}; fails if that one does not come within {@code timeout}.
     */
    List<Message> takeThrough(Predicate<Message> last, int max, Duration timeout) throws InterruptedException {
        return collect(last, max, timeout, "the awaited message");
    }

    private List<Message> collect(Predicate<Message> last, int max, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Message> taken = new ArrayList<>();
        while (taken.size() < max) {
            Message next = messages.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (next == null) {
                throw new AssertionError(what + " within " + timeout + ": got " + taken.size() + " messages"
                        + (ended() ? ", then the stream ended (" + endedBy + ")" : "")
                        + "; the last: " + (taken.isEmpty() ? "none" : taken.get(taken.size() - 1)));
            }
            taken.add(next);
            if (last.test(next)) {
                break;
            }
        }
        return taken;
    }

    /** The next comment line (with its colon), or null if none came within {@code timeout}. */
    String comment(Duration timeout) throws InterruptedException {
        return comments.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether the server ended the stream (or the connection broke). */
    boolean ended() {
        return ended.getCount() == 0;
    }

    /** The field lines other than id and data (retry, event, unknown ones), in order. */
    synchronized List<String> otherFields() {
        return List.copyOf(fields);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    private void read(InputStream in, boolean chunked) {
        SseParser parser = new SseParser();
        try {
            if (chunked) {
                while (true) {
                    String size = line(in);
                    int semicolon = size.indexOf(';');
                    int length = Integer.parseInt((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
                    if (length == 0) {
                        break; // the last chunk: the server ended the answer
                    }
                    byte[] chunk = in.readNBytes(length);
                    if (chunk.length < length) {
                        throw new EOFException("in a chunk");
                    }
                    parser.feed(chunk, chunk.length);
                    line(in); // the chunk's CRLF
                }
            } else {
                byte[] buffer = new byte[64 * 1024];
                for (int n = in.read(buffer); n != -1; n = in.read(buffer)) {
                    parser.feed(buffer, n);
                }
            }
        } catch (IOException | RuntimeException e) {
            endedBy = e;
        } finally {
            ended.countDown();
        }
    }

    /** A reader with a slow link: reads of 4 KiB at most, spaced so as not to exceed a rate. */
    private static final class Paced extends FilterInputStream {
        private final long nanosPerByte;
        private long next = System.nanoTime();

        Paced(InputStream in, long bytesPerSecond) {
            super(in);
            this.nanosPerByte = Math.max(1, 1_000_000_000L / bytesPerSecond);
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            LockSupport.parkNanos(next - System.nanoTime()); // the pace of the link, not a wait for something to happen
            int n = super.read(buffer, offset, Math.min(length, 4096));
            next = Math.max(next, System.nanoTime()) + Math.max(0, n) * nanosPerByte;
            return n;
        }
    }

    /** Server-Sent Events as the HTML standard parses them (lines end with LF or CRLF; a blank line dispatches). */
    private final class SseParser {
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private final StringBuilder data = new StringBuilder();
        private int dataLines;
        private String id;
        private boolean seenLine;

        void feed(byte[] bytes, int length) {
            for (int i = 0; i < length; i++) {
                byte b = bytes[i];
                if (b == '\n') {
                    byte[] raw = line.toByteArray();
                    int end = raw.length > 0 && raw[raw.length - 1] == '\r' ? raw.length - 1 : raw.length;
                    line.reset();
                    onLine(new String(raw, 0, end, StandardCharsets.UTF_8));
                } else {
                    line.write(b);
                }
            }
        }

        private void onLine(String text) {
            if (!seenLine) {
                seenLine = true;
                firstLine = text;
            }
            if (text.isEmpty()) {
                if (dataLines > 0) {
                    messages.add(new Message(id, data.toString(), dataLines));
                }
                id = null;
                data.setLength(0);
                dataLines = 0;
                return;
            }
            if (text.startsWith(":")) {
                comments.add(text);
                return;
            }
            int colon = text.indexOf(':');
            String field = colon < 0 ? text : text.substring(0, colon);
            String value = colon < 0 ? "" : text.substring(colon + 1);
            if (value.startsWith(" ")) {
                value = value.substring(1);
            }
            switch (field) {
                case "id" -> id = value;
                case "data" -> {
                    if (dataLines > 0) {
                        data.append('\n');
                    }
                    data.append(value);
                    dataLines++;
                }
                default -> {
                    synchronized (EventStreamClient.this) {
                        fields.add(text);
                    }
                }
            }
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b == -1) {
                throw new EOFException("the connection closed in a line");
            }
            bytes.write(b);
        }
        String text = bytes.toString(StandardCharsets.ISO_8859_1);
        return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
    }

    private static byte[] dechunkAll(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line(in);
            int semicolon = size.indexOf(';');
            int length = Integer.parseInt((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
            if (length == 0) {
                line(in);
                return body.toByteArray();
            }
            body.write(in.readNBytes(length));
            line(in);
        }
    }

    @Override
    public String toString() {
        return "GET /events stream, status " + status + ", " + messages.size() + " messages waiting" + (ended() ? ", ended" : "");
    }
}
