package bench;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;

/**
 * MQTT fan-out load against any broker: N subscribers (TCP and/or WebSocket, one NIO thread), M publishers (plain
 * sockets, QoS 0 or 1, a fixed rate or flat out), payloads stamped with publisher, sequence and send time. Reports
 * deliveries/s, latency p50/p99/max, lost and duplicated deliveries, and the broker's RSS and CPU from /proc.
 *
 * <pre>
 * java bench.Load --port 1883 [--ws-port 9001 --ws-subscribers 500] --subscribers 1000 --publishers 1 --rate 0
 *      --seconds 20 --warmup 5 --size 1024 --qos 0 --user bench --password secret --broker-pid 1234 --label name
 *      [--publish-port 1884] [--topic bench]
 * </pre>
 * {@code --port} may list several ports (the nodes of a cluster): the TCP subscribers take them in turn; the
 * publishers connect to {@code --publish-port} (default: the first). Topics: {@code <topic>/p<n>}, filter {@code <topic>/#}.
 * {@code --rate} is messages per second per publisher; 0 publishes flat out (as fast as the broker reads).
 * The last line of output is {@code RESULT {json}}.
 */
public final class Load {

    private final Map<String, String> args;
    private final int publishers;
    private final int subscribers;
    private final int size;
    private final int qos;
    /** Next expected sequence per subscriber and publisher (measured phase), for loss and duplicates. */
    private final long[][] expected;
    private volatile long unique;
    private volatile long duplicates;
    private long firstArrival;
    private long lastArrival;
    private final long[] histogram = new long[1_000_001]; // 10 µs buckets up to 10 s, then one overflow bucket
    private long maxLatency;
    private final AtomicLong[] sent;
    private volatile long measureStart;
    private volatile long measureEnd = Long.MAX_VALUE;
    /** Every delivery, warm-up included, and those that arrived while the measured phase was being published. */
    private volatile long all;
    private volatile long inWindow;
    /** Per measured message (fixed rate only): its first and its last delivery's latency in µs, -1 until one arrives. */
    private long[][] firstMicros = new long[0][];
    private long[][] lastMicros = new long[0][];

    private Load(Map<String, String> args) {
        this.args = args;
        publishers = integer("publishers", 1);
        subscribers = integer("subscribers", 100) + integer("ws-subscribers", 0);
        size = Math.max(25, integer("size", 1024));
        qos = integer("qos", 0);
        expected = new long[subscribers][publishers];
        sent = new AtomicLong[publishers];
        for (int i = 0; i < publishers; i++) {
            sent[i] = new AtomicLong();
        }
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        new Load(args).run();
    }

    private int integer(String name, int fallback) {
        return args.containsKey(name) ? Integer.parseInt(args.get(name)) : fallback;
    }

    private String text(String name, String fallback) {
        return args.getOrDefault(name, fallback);
    }

    /** Runs on the subscribers' thread. Payload: phase, publisher, sequence, send time. */
    private void delivered(int subscriber, ByteBuffer payload, long now) {
        all++;
        if (measureStart != 0 && now >= measureStart && now <= measureEnd) {
            inWindow++;
        }
        if (payload.get(payload.position()) != 1) {
            return; // warm-up
        }
        int publisher = payload.getInt(payload.position() + 1);
        long seq = payload.getLong(payload.position() + 5);
        long sentAt = payload.getLong(payload.position() + 13);
        if (seq < expected[subscriber][publisher]) {
            duplicates++; // (or reordered: MQTT keeps one publisher's order to one subscriber)
            return;
        }
        expected[subscriber][publisher] = seq + 1;
        unique++;
        if (firstArrival == 0) {
            firstArrival = now;
        }
        lastArrival = now;
        long micros = Math.max(0, now - sentAt) / 1000; // read times are taken per read, a hair before the payload is looked at
        maxLatency = Math.max(maxLatency, micros);
        histogram[(int) Math.min(micros / 10, histogram.length - 1)]++;
        if (seq < firstMicros[publisher].length) {
            if (firstMicros[publisher][(int) seq] < 0) {
                firstMicros[publisher][(int) seq] = micros;
            }
            lastMicros[publisher][(int) seq] = Math.max(lastMicros[publisher][(int) seq], micros);
        }
    }

    /** The p-th percentile (0..1) over messages of one of the per-message figures, in ms; NaN without any. */
    private static double perMessage(long[][] figures, double p) {
        long[] all = Arrays.stream(figures).flatMapToLong(Arrays::stream).filter(v -> v >= 0).sorted().toArray();
        return all.length == 0 ? Double.NaN : all[(int) Math.min(all.length - 1, Math.ceil(p * all.length) - 1)] / 1000.0;
    }

    private void run() throws Exception {
        String host = text("host", "127.0.0.1");
        int seconds = integer("seconds", 20);
        int warmup = integer("warmup", 5);
        double rate = Double.parseDouble(text("rate", "0"));
        int brokerPid = integer("broker-pid", 0);
        int tracked = rate > 0 ? (int) Math.min(1_000_000, rate * seconds + 16) : 0;
        firstMicros = new long[publishers][tracked];
        lastMicros = new long[publishers][tracked];
        for (int i = 0; i < publishers; i++) {
            Arrays.fill(firstMicros[i], -1);
            Arrays.fill(lastMicros[i], -1);
        }
        long connectStarted = System.nanoTime();
        int[] ports = Arrays.stream(text("port", "1883").split(",")).mapToInt(Integer::parseInt).toArray();
        String topic = text("topic", "bench");
        try (NioSubscribers subs = new NioSubscribers(host, ports, integer("subscribers", 100), integer("ws-port", 9001),
                topic + "/#", qos, integer("ws-subscribers", 0), 0, null, this::delivered)) {
            subs.awaitSubscribed(300);
            double connectSeconds = (System.nanoTime() - connectStarted) / 1e9;
            System.out.printf(Locale.ROOT, "%d subscribers connected and subscribed in %.1f s%n", subscribers, connectSeconds);
            List<Publisher> pubs = new ArrayList<>();
            for (int i = 0; i < publishers; i++) {
                pubs.add(new Publisher(host, integer("publish-port", ports[0]), topic, i, text("user", null), text("password", null)));
            }
            // warm-up (phase 0), then the measured phase (1)
            publishAll(pubs, rate, warmup, (byte) 0);
            Thread.sleep(1000);
            long[] cpu0 = cpu(brokerPid);
            measureStart = System.nanoTime();
            long publishNanos = publishAll(pubs, rate, seconds, (byte) 1);
            measureEnd = System.nanoTime();
            long deliveredWhilePublishing = inWindow;
            long total = 0;
            for (AtomicLong s : sent) {
                total += s.get();
            }
            long expectedDeliveries = total * subscribers;
            // drain: until everything arrived or nothing arrived for 3 s (at most 60 s)
            long last = -1;
            long quietSince = System.nanoTime();
            long drainStart = System.nanoTime();
            while (System.nanoTime() - drainStart < 60_000_000_000L) {
                long now = all;
                if (received() >= expectedDeliveries) {
                    break;
                }
                if (now != last) {
                    last = now;
                    quietSince = System.nanoTime();
                } else if (System.nanoTime() - quietSince > 3_000_000_000L) {
                    break;
                }
                Thread.sleep(50);
            }
            long[] cpu1 = cpu(brokerPid);
            for (Publisher p : pubs) {
                p.close();
            }
            long got = received();
            if (subs.failure() != null) {
                throw new IllegalStateException("the subscribers' thread failed; no figures", subs.failure());
            }
            Map<String, Object> result = new java.util.LinkedHashMap<>();
            result.put("label", text("label", ""));
            result.put("subscribers", subscribers);
            result.put("ws_subscribers", integer("ws-subscribers", 0));
            result.put("publishers", publishers);
            result.put("qos", qos);
            result.put("size", size);
            result.put("rate_per_publisher", rate);
            result.put("published", total);
            result.put("publish_rate", total / (publishNanos / 1e9));
            result.put("deliveries", got);
            // while the measured phase was published: what the subscribers received per second (any phase)
            result.put("deliveries_per_s", deliveredWhilePublishing / (publishNanos / 1e9));
            result.put("lost", expectedDeliveries - got);
            // subscribers that got none of the measured messages: their client ids tell which subscriptions to look for
            List<String> silent = new ArrayList<>();
            for (int s = 0; s < expected.length; s++) {
                if (Arrays.stream(expected[s]).allMatch(next -> next == 0)) {
                    silent.add(subs.clientId(s));
                }
            }
            result.put("silent_subscribers", silent.size());
            if (!silent.isEmpty() && total > 0) {
                long closed = IntStream.range(0, expected.length).filter(s -> subs.closed(s)
                        && Arrays.stream(expected[s]).allMatch(next -> next == 0)).count();
                System.out.printf(Locale.ROOT, "%d subscribers got none of the measured messages, e.g. %s; the broker had closed %d of them%n",
                        silent.size(), silent.subList(0, Math.min(5, silent.size())), closed);
            }
            result.put("duplicates", duplicates);
            result.put("latency_p50_ms", percentile(0.50));
            result.put("latency_p99_ms", percentile(0.99));
            result.put("latency_max_ms", maxLatency / 1000.0);
            if (tracked > 0) {
                // per message: when its first subscriber got it, and when its last did (the whole fan-out)
                result.put("first_delivery_p50_ms", perMessage(firstMicros, 0.50));
                result.put("last_delivery_p50_ms", perMessage(lastMicros, 0.50));
                result.put("last_delivery_p99_ms", perMessage(lastMicros, 0.99));
            }
            result.put("connect_seconds", connectSeconds);
            result.put("closed_by_broker", subs.closed());
            result.put("refused_subscriptions", subs.refused());
            if (brokerPid > 0) {
                result.put("broker_rss_mib", status(brokerPid, "VmRSS") / 1024.0);
                result.put("broker_peak_rss_mib", status(brokerPid, "VmHWM") / 1024.0);
                result.put("broker_cpu_percent", (cpu1[0] - cpu0[0]) / 100.0 / ((cpu1[1] - cpu0[1]) / 1e9) * 100);
            }
            System.out.printf(Locale.ROOT, "published %d (%.0f/s), %d deliveries, %.0f/s, lost %d, duplicates %d, latency p50 %.2f p99 %.2f max %.2f ms%n",
                    total, result.get("publish_rate"), got, result.get("deliveries_per_s"), expectedDeliveries - got, duplicates,
                    percentile(0.50), percentile(0.99), maxLatency / 1000.0);
            System.out.println("RESULT " + json(result));
        }
    }

    private synchronized long received() {
        return unique;
    }

    private double percentile(double p) {
        long count = 0;
        for (long c : histogram) {
            count += c;
        }
        long rank = (long) Math.ceil(p * count);
        long seen = 0;
        for (int i = 0; i < histogram.length; i++) {
            seen += histogram[i];
            if (seen >= rank && count > 0) {
                return i * 10 / 1000.0;
            }
        }
        return 0;
    }

    /** Publishes for {@code seconds} from every publisher, each on its own thread; returns the time it took. */
    private long publishAll(List<Publisher> pubs, double rate, int seconds, byte phase) throws Exception {
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        for (Publisher p : pubs) {
            Thread t = new Thread(() -> p.publishUntil(end, rate, phase), "publisher-" + p.index);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        return System.nanoTime() - start;
    }

    /** utime + stime of a process, in clock ticks (100/s), and the time read. */
    static long[] cpu(int pid) throws IOException {
        if (pid <= 0) {
            return new long[] {0, System.nanoTime()};
        }
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(fields[11]) + Long.parseLong(fields[12]), System.nanoTime()};
    }

    static long status(int pid, String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(key + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    static String json(Map<String, Object> map) {
        StringBuilder out = new StringBuilder("{");
        map.forEach((k, v) -> {
            if (out.length() > 1) {
                out.append(',');
            }
            out.append('"').append(k).append("\":");
            out.append(v instanceof String s ? "\"" + s + "\"" : v instanceof Double d ? String.format(Locale.ROOT, "%.3f", d) : v);
        });
        return out.append('}').toString();
    }

    /** One MQTT publisher on a plain socket: QoS 0 writes as fast as the socket takes them; QoS 1 keeps 1,000 in flight. */
    private final class Publisher {
        final int index;
        private final Socket socket;
        private final OutputStream out;
        private final Semaphore window = new Semaphore(1000);
        private final byte[] topic;
        private long seq;
        private int packetId;

        Publisher(String host, int port, String topic, int index, String user, String password) throws IOException {
            this.index = index;
            this.topic = (topic + "/p" + index).getBytes(StandardCharsets.UTF_8);
            socket = new Socket(host, port);
            socket.setTcpNoDelay(true);
            out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
            DataInputStream in = NioSubscribers.connected(socket, out, "bench-pub-" + ProcessHandle.current().pid() + "-" + index, user, password);
            Thread acks = new Thread(() -> {
                try {
                    while (true) {
                        int type = in.readUnsignedByte();
                        int length = in.readUnsignedByte();
                        in.skipNBytes(length);
                        if ((type >> 4) == 4) {
                            window.release();
                        }
                    }
                } catch (IOException e) {
                    // closed
                }
            }, "acks-" + index);
            acks.setDaemon(true);
            acks.start();
        }

        void publishUntil(long end, double rate, byte phase) {
            ByteBuffer payload = ByteBuffer.allocate(size);
            long interval = rate > 0 ? (long) (1e9 / rate) : 0;
            long next = System.nanoTime();
            seq = 0;
            try {
                while (true) {
                    long now = System.nanoTime();
                    if (now >= end) {
                        break;
                    }
                    if (interval > 0) {
                        if (now < next) {
                            LockSupport.parkNanos(next - now);
                            continue;
                        }
                        next += interval;
                    }
                    if (qos > 0) {
                        window.acquire();
                    }
                    payload.clear();
                    payload.put(phase).putInt(index).putLong(seq).putLong(System.nanoTime());
                    write(payload.array());
                    seq++;
                    if (phase == 1) {
                        sent[index].incrementAndGet();
                    }
                    if (interval > 0) {
                        out.flush();
                    }
                }
                out.flush();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException("publisher " + index + ": " + e, e);
            }
        }

        private void write(byte[] body) throws IOException {
            int length = 2 + topic.length + (qos > 0 ? 2 : 0) + body.length;
            out.write(0x30 | (qos << 1));
            do {
                int digit = length % 128;
                length /= 128;
                out.write(length > 0 ? digit | 0x80 : digit);
            } while (length > 0);
            out.write(topic.length >> 8);
            out.write(topic.length);
            out.write(topic);
            if (qos > 0) {
                packetId = packetId % 65535 + 1;
                out.write(packetId >> 8);
                out.write(packetId);
            }
            out.write(body);
        }

        void close() throws IOException {
            out.write(new byte[] {(byte) 0xE0, 0});
            out.flush();
            socket.close();
        }
    }
}
