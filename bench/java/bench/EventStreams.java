package bench;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The catch-up stream ({@code GET /events}, Server-Sent Events) against MQTT on one node: N streams on plain sockets
 * (one NIO selector thread, HTTP/1.1 chunked, SSE parsed) and M MQTT QoS 0 subscribers ({@link NioSubscribers}), both
 * on {@code bench/#}; one QoS 1 publisher sends JSON payloads of {@code --size} bytes at a steady rate, its send time
 * ({@code System.nanoTime}, this JVM) stamped in the payload. Reports per path deliveries, lost, latency p50/p99/max,
 * and the broker's RSS (from /proc) and heap in use (jvm_memory_used_bytes{area="heap"} of /observe/metrics, no GC
 * forced) before the streams open and once they are open and idle.
 *
 * <pre>
 * java bench.EventStreams --http-port 8080 --mqtt-port 1883 --management-port 9876 --broker-pid 1234
 *      --streams 1000 --subscribers 1000 --rate 20 --seconds 30 --warmup 3 --idle 5 --size 1024 --user bench --password pw
 * </pre>
 * The last line of output is {@code RESULT {json}}.
 */
public final class EventStreams {

    private final Map<String, String> args;
    private final Path sse = new Path();
    private final Path mqtt = new Path();

    private EventStreams(Map<String, String> args) {
        this.args = args;
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        new EventStreams(args).run();
    }

    private int integer(String name, int fallback) {
        return args.containsKey(name) ? Integer.parseInt(args.get(name)) : fallback;
    }

    /** One delivery path's figures; each is updated by one thread only (its selector's). */
    private static final class Path {
        final long[] histogram = new long[1_000_001]; // 100 µs buckets up to 100 s (a loaded machine reaches seconds), then one overflow bucket
        volatile long deliveries;
        volatile long all;
        long duplicates;
        long max;

        void delivered(long seq, long sentAt, long now, long[] next, int reader) {
            all++;
            if (seq < 0) {
                return; // warm-up
            }
            if (seq < next[reader]) {
                duplicates++;
                return;
            }
            next[reader] = seq + 1;
            long micros = Math.max(0, now - sentAt) / 1000;
            max = Math.max(max, micros);
            histogram[(int) Math.min(micros / 100, histogram.length - 1)]++;
            deliveries++;
        }

        double percentile(double p) {
            long count = 0;
            for (long c : histogram) {
                count += c;
            }
            long rank = (long) Math.ceil(p * count);
            long seen = 0;
            for (int i = 0; i < histogram.length && count > 0; i++) {
                seen += histogram[i];
                if (seen >= rank) {
                    return i == histogram.length - 1 ? Double.POSITIVE_INFINITY : i * 100 / 1000.0;
                }
            }
            return 0;
        }
    }

    /** The number after {@code "key":} in {@code text}, or {@code fallback}. */
    private static long number(CharSequence text, String key, long fallback) {
        int at = text.toString().indexOf(key);
        if (at < 0) {
            return fallback;
        }
        int i = at + key.length();
        boolean negative = text.charAt(i) == '-';
        if (negative) {
            i++;
        }
        long value = 0;
        while (i < text.length() && Character.isDigit(text.charAt(i))) {
            value = value * 10 + text.charAt(i++) - '0';
        }
        return negative ? -value : value;
    }

    private void run() throws Exception {
        String host = args.getOrDefault("host", "127.0.0.1");
        int httpPort = integer("http-port", 8080);
        int mqttPort = integer("mqtt-port", 1883);
        int managementPort = integer("management-port", 0);
        int pid = integer("broker-pid", 0);
        int streams = integer("streams", 1000);
        int subscribers = integer("subscribers", 1000);
        double rate = Double.parseDouble(args.getOrDefault("rate", "20"));
        int seconds = integer("seconds", 30);
        int size = integer("size", 1024);
        String topic = args.getOrDefault("topic", "bench");
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("streams", streams);
        result.put("subscribers", subscribers);

        long rss0 = pid > 0 ? Load.status(pid, "VmRSS") : 0;
        double heap0 = heapMiB(managementPort);
        long[] sseNext = new long[streams];
        long[] mqttNext = new long[subscribers];
        long opening = System.nanoTime();
        try (SseClients clients = new SseClients(host, httpPort, streams, topic + "/%23", (reader, seq, sent, now) ->
                sse.delivered(seq, sent, now, sseNext, reader))) {
            clients.awaitOpen(120);
            double openSeconds = (System.nanoTime() - opening) / 1e9;
            System.out.printf(Locale.ROOT, "%d streams open in %.1f s (%d refused)%n", clients.open.get(), openSeconds, clients.refused.get());
            Thread.sleep(integer("idle", 5) * 1000L);
            long rss1 = pid > 0 ? Load.status(pid, "VmRSS") : 0;
            double heap1 = heapMiB(managementPort);
            result.put("streams_open", clients.open.get());
            result.put("streams_refused", clients.refused.get());
            result.put("open_seconds", openSeconds);
            result.put("rss_before_mib", rss0 / 1024.0);
            result.put("rss_streams_open_mib", rss1 / 1024.0);
            result.put("rss_per_stream_kib", streams == 0 ? 0.0 : (rss1 - rss0) / (double) streams);
            result.put("heap_before_mib", heap0);
            result.put("heap_streams_open_mib", heap1);
            result.put("heap_per_stream_kib", streams == 0 ? 0.0 : (heap1 - heap0) * 1024 / streams);
            System.out.printf(Locale.ROOT, "broker RSS %.0f -> %.0f MiB (%.1f KiB per stream), heap in use %.0f -> %.0f MiB (no GC forced)%n",
                    rss0 / 1024.0, rss1 / 1024.0, (rss1 - rss0) / (double) Math.max(1, streams), heap0, heap1);

            try (NioSubscribers subs = new NioSubscribers(host, new int[] {mqttPort}, subscribers, 0, topic + "/#", 0, 0, 0, null,
                    (subscriber, payload, now) -> {
                        String text = StandardCharsets.US_ASCII.decode(payload.slice(payload.position(), Math.min(64, payload.remaining()))).toString();
                        mqtt.delivered(number(text, "\"seq\":", Long.MIN_VALUE), number(text, "\"sent\":", 0), now, mqttNext, subscriber);
                    })) {
                subs.awaitSubscribed(120);
                System.out.printf(Locale.ROOT, "%d MQTT subscribers subscribed%n", subscribers);
                try (Publisher publisher = new Publisher(host, mqttPort, topic + "/events", args.get("user"), args.get("password"), size)) {
                    publisher.publish(rate, integer("warmup", 3), true);
                    Thread.sleep(2000);
                    long[] cpu0 = Load.cpu(pid);
                    long published = publisher.publish(rate, seconds, false);
                    long drainStart = System.nanoTime();
                    long quietSince = drainStart;
                    long last = -1;
                    while (System.nanoTime() - drainStart < 30_000_000_000L) { // until all arrived or nothing for 3 s
                        if (sse.deliveries >= published * clients.open.get() && mqtt.deliveries >= published * subscribers) {
                            break;
                        }
                        long now = sse.all + mqtt.all;
                        if (now != last) {
                            last = now;
                            quietSince = System.nanoTime();
                        } else if (System.nanoTime() - quietSince > 3_000_000_000L) {
                            break;
                        }
                        Thread.sleep(50);
                    }
                    long[] cpu1 = Load.cpu(pid);
                    if (clients.failure != null || subs.failure() != null) {
                        throw new IllegalStateException("a reader thread failed; no figures");
                    }
                    result.put("published", published);
                    result.put("rate", rate);
                    result.put("size", size);
                    report(result, "sse", sse, published * streams, clients.closed());
                    report(result, "mqtt", mqtt, published * subscribers, subs.closed());
                    if (pid > 0) {
                        result.put("broker_cpu_percent", (cpu1[0] - cpu0[0]) / 100.0 / ((cpu1[1] - cpu0[1]) / 1e9) * 100);
                        result.put("broker_rss_end_mib", Load.status(pid, "VmRSS") / 1024.0);
                        result.put("broker_peak_rss_mib", Load.status(pid, "VmHWM") / 1024.0);
                    }
                }
            }
        }
        System.out.println("RESULT " + Load.json(result));
    }

    private static void report(Map<String, Object> result, String name, Path path, long expected, long closed) {
        result.put(name + "_deliveries", path.deliveries);
        result.put(name + "_lost", expected - path.deliveries);
        result.put(name + "_duplicates", path.duplicates);
        result.put(name + "_closed_by_broker", closed);
        result.put(name + "_p50_ms", path.percentile(0.50));
        result.put(name + "_p99_ms", path.percentile(0.99));
        result.put(name + "_max_ms", path.max / 1000.0);
        System.out.printf(Locale.ROOT, "%s: %d deliveries, lost %d, duplicates %d, closed by broker %d, latency p50 %.2f p99 %.2f max %.2f ms%n",
                name, path.deliveries, expected - path.deliveries, path.duplicates, closed, path.percentile(0.50), path.percentile(0.99),
                path.max / 1000.0);
    }

    /** Sum of jvm_memory_used_bytes{area="heap",...} from the management port, in MiB; NaN without one. */
    static double heapMiB(int port) {
        if (port <= 0) {
            return Double.NaN;
        }
        try {
            String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/observe/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
            double bytes = 0;
            for (String line : body.split("\n")) {
                if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                    bytes += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return bytes / 1048576;
        } catch (IOException | InterruptedException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** Receives each SSE event's sequence and send time; runs on the selector thread. */
    interface Event {
        void accept(int reader, long seq, long sentAt, long nanoTime);
    }

    /** N {@code GET /events} streams on one selector thread: HTTP/1.1 chunked bodies, SSE messages parsed. */
    private static final class SseClients implements AutoCloseable {
        final AtomicInteger open = new AtomicInteger();
        final AtomicInteger refused = new AtomicInteger();
        private final Selector selector = Selector.open();
        private final List<SocketChannel> channels = new ArrayList<>();
        private final int count;
        private final Thread loop;
        private volatile boolean running = true;
        volatile Throwable failure;

        SseClients(String host, int port, int count, String filter, Event onEvent) throws IOException {
            this.count = count;
            byte[] request = ("GET /events?topic=" + filter + " HTTP/1.1\r\nHost: " + host + ":" + port
                    + "\r\nAccept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < count; i++) {
                SocketChannel channel = SocketChannel.open(new InetSocketAddress(host, port));
                channel.socket().setTcpNoDelay(true);
                ByteBuffer out = ByteBuffer.wrap(request);
                while (out.hasRemaining()) {
                    channel.write(out);
                }
                channel.configureBlocking(false);
                channel.register(selector, SelectionKey.OP_READ, new Reader(i, onEvent));
                channels.add(channel);
            }
            loop = new Thread(this::run, "sse-clients");
            loop.start();
        }

        void awaitOpen(int seconds) throws InterruptedException {
            long end = System.nanoTime() + seconds * 1_000_000_000L;
            while (open.get() + refused.get() < count && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            if (open.get() + refused.get() < count) {
                throw new IllegalStateException((count - open.get() - refused.get()) + " streams not answered");
            }
        }

        long closed() {
            return channels.stream().filter(c -> !c.isOpen()).count();
        }

        private void run() {
            try {
                while (running) {
                    selector.select(200);
                    long now = System.nanoTime();
                    for (SelectionKey key : selector.selectedKeys()) {
                        ((Reader) key.attachment()).read((SocketChannel) key.channel(), now);
                    }
                    selector.selectedKeys().clear();
                }
            } catch (IOException | RuntimeException e) {
                if (running) {
                    failure = e;
                    e.printStackTrace();
                }
            }
        }

        @Override
        public void close() throws Exception {
            running = false;
            loop.join(5000);
            for (SocketChannel channel : channels) {
                channel.close();
            }
            selector.close();
        }

        /** One stream: the response head, then chunk sizes and chunk bytes, the latter cut into SSE lines. */
        private final class Reader {
            private final int index;
            private final Event onEvent;
            private final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
            private final StringBuilder head = new StringBuilder();
            private final StringBuilder line = new StringBuilder();
            private final StringBuilder chunkSize = new StringBuilder();
            private boolean headDone;
            /** Bytes left in the current chunk; -1 while reading a chunk-size line, -2 while skipping a chunk's CRLF. */
            private long chunkLeft = -1;
            private long seq = Long.MIN_VALUE;
            private long sent;

            Reader(int index, Event onEvent) {
                this.index = index;
                this.onEvent = onEvent;
            }

            void read(SocketChannel channel, long now) throws IOException {
                in.clear();
                int n;
                try {
                    n = channel.read(in);
                } catch (IOException e) {
                    n = -1;
                }
                if (n < 0) {
                    channel.close();
                    return;
                }
                in.flip();
                while (in.hasRemaining()) {
                    char c = (char) (in.get() & 0xff);
                    if (!headDone) {
                        head.append(c);
                        if (head.length() >= 4 && head.lastIndexOf("\r\n\r\n") == head.length() - 4) {
                            headDone = true;
                            if (head.toString().startsWith("HTTP/1.1 200")) {
                                open.incrementAndGet();
                            } else {
                                refused.incrementAndGet();
                                channel.close();
                                return;
                            }
                        }
                    } else if (chunkLeft == -1) {
                        if (c == '\n') {
                            String hex = chunkSize.toString().trim();
                            chunkSize.setLength(0);
                            if (!hex.isEmpty()) {
                                int semicolon = hex.indexOf(';');
                                chunkLeft = Long.parseLong(semicolon < 0 ? hex : hex.substring(0, semicolon), 16);
                                if (chunkLeft == 0) { // the last chunk: the server ended the stream
                                    channel.close();
                                    return;
                                }
                            }
                        } else {
                            chunkSize.append(c);
                        }
                    } else {
                        chunkLeft--;
                        if (chunkLeft == 0) {
                            chunkLeft = -1; // the CRLF after the chunk reads as an empty size line
                        }
                        line(c, now);
                    }
                }
            }

            private void line(char c, long now) {
                if (c != '\n') {
                    line.append(c);
                    return;
                }
                if (line.length() == 0) { // end of one SSE message
                    if (seq != Long.MIN_VALUE) {
                        onEvent.accept(index, seq, sent, now);
                    }
                    seq = Long.MIN_VALUE;
                } else if (line.indexOf("data:") == 0) {
                    int payload = line.indexOf("\"payload\":");
                    if (payload >= 0) {
                        CharSequence rest = line.subSequence(payload, Math.min(line.length(), payload + 80));
                        seq = number(rest, "\"seq\":", Long.MIN_VALUE);
                        sent = number(rest, "\"sent\":", 0);
                    }
                }
                line.setLength(0);
            }
        }
    }

    /** One MQTT QoS 1 publisher on a plain socket (as Load's), payload a JSON object: {"seq", "sent", "pad"}, warm-up seq < 0. */
    private static final class Publisher implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private final Semaphore window = new Semaphore(1000);
        private final byte[] topic;
        private final int size;
        private int packetId;

        Publisher(String host, int port, String topic, String user, String password, int size) throws IOException {
            this.topic = topic.getBytes(StandardCharsets.UTF_8);
            this.size = size;
            socket = new Socket(host, port);
            socket.setTcpNoDelay(true);
            out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
            DataInputStream in = NioSubscribers.connected(socket, out, "bench-events-pub-" + ProcessHandle.current().pid(), user, password);
            Thread acks = new Thread(() -> {
                try {
                    while (true) {
                        int type = in.readUnsignedByte();
                        in.skipNBytes(in.readUnsignedByte());
                        if ((type >> 4) == 4) {
                            window.release();
                        }
                    }
                } catch (IOException e) {
                    // closed
                }
            }, "acks");
            acks.setDaemon(true);
            acks.start();
        }

        /** Publishes at {@code rate}/s for {@code seconds}; returns how many. */
        long publish(double rate, int seconds, boolean warmup) throws IOException, InterruptedException {
            long interval = (long) (1e9 / rate);
            long next = System.nanoTime();
            long end = next + seconds * 1_000_000_000L;
            long seq = 0;
            while (true) {
                long now = System.nanoTime();
                if (now >= end) {
                    return seq;
                }
                if (now < next) {
                    LockSupport.parkNanos(next - now);
                    continue;
                }
                next += interval;
                window.acquire();
                String head = "{\"seq\":" + (warmup ? -1 - seq : seq) + ",\"sent\":" + System.nanoTime() + ",\"pad\":\"";
                String json = head + "x".repeat(Math.max(0, size - head.length() - 2)) + "\"}";
                write(json.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                seq++;
            }
        }

        private void write(byte[] body) throws IOException {
            int length = 2 + topic.length + 2 + body.length;
            out.write(0x32);
            do {
                int digit = length % 128;
                length /= 128;
                out.write(length > 0 ? digit | 0x80 : digit);
            } while (length > 0);
            out.write(topic.length >> 8);
            out.write(topic.length);
            out.write(topic);
            packetId = packetId % 65535 + 1;
            out.write(packetId >> 8);
            out.write(packetId);
            out.write(body);
        }

        @Override
        public void close() throws IOException {
            out.write(new byte[] {(byte) 0xE0, 0});
            out.flush();
            socket.close();
        }
    }
}
