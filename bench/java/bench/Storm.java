package bench;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * A reconnect storm against any broker: N MQTT 3.1.1 clients connect and subscribe, {@code --parallel} at a time, each
 * waiting for its CONNACK and SUBACK; then they receive at a low rate (loss, disconnections, the broker's memory per
 * client); then a part of them drops off the network at once while the others go on receiving (a disconnect storm); then
 * those come back, as after a network blip (the same storm again, on a broker that has run a while).
 *
 * <pre>
 * java bench.Storm --port 1883 --ws-port 9001 --clients 10000 --ws-clients 0 --parallel 1 --rate 2 --seconds 20
 *      --leave 5000 --storm-seconds 10 --user bench --password secret --broker-pid 1234 --label name
 * </pre>
 * The last line of output is {@code RESULT {json}}.
 */
public final class Storm {

    private static final int BLOCK = 2_000;

    private final Map<String, String> args = new HashMap<>();
    private long[] expected;
    private volatile long received;
    private volatile long duplicates;
    /** Latencies (µs) of deliveries: while all clients receive, and to the clients that stay after the storm began. */
    private final long[] steadyLatencies = new long[4_000_000];
    private volatile int steadyCount;
    private final long[] stormLatencies = new long[4_000_000];
    private volatile int stormCount;
    private volatile long stormFrom = Long.MAX_VALUE;
    private int leave;

    public static void main(String[] argv) throws Exception {
        Storm storm = new Storm();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            storm.args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        storm.run();
    }

    private int integer(String name, int fallback) {
        return args.containsKey(name) ? Integer.parseInt(args.get(name)) : fallback;
    }

    /** Runs on the subscribers' thread. Payload: sequence, send time. */
    private void delivered(int subscriber, ByteBuffer payload, long now) {
        long seq = payload.getLong(payload.position());
        long sentAt = payload.getLong(payload.position() + 8);
        if (seq < expected[subscriber]) {
            duplicates++;
            return;
        }
        expected[subscriber] = seq + 1;
        received++;
        long micros = (now - sentAt) / 1000;
        if (sentAt >= stormFrom) {
            if (subscriber >= leave && stormCount < stormLatencies.length) {
                stormLatencies[stormCount++] = micros;
            }
        } else if (steadyCount < steadyLatencies.length) {
            steadyLatencies[steadyCount++] = micros;
        }
    }

    private void run() throws Exception {
        String host = args.getOrDefault("host", "127.0.0.1");
        int tcp = integer("clients", 10_000);
        int ws = integer("ws-clients", 0);
        int total = tcp + ws;
        int parallel = integer("parallel", 1);
        double rate = Double.parseDouble(args.getOrDefault("rate", "2"));
        int seconds = integer("seconds", 20);
        leave = Math.min(total, integer("leave", total / 2));
        int pid = integer("broker-pid", 0);
        expected = new long[total];
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("label", args.getOrDefault("label", ""));
        result.put("clients", total);
        result.put("ws_clients", ws);
        result.put("parallel", parallel);

        long rss0 = rssKib(pid);
        long[] subscribedAt = new long[total];
        long start = System.nanoTime();
        try (NioSubscribers subs = new NioSubscribers(host, integer("port", 1883), tcp, integer("ws-port", 9001), "bench/storm", 0, ws,
                parallel, subscribedAt, this::delivered)) {
            long[] at = subscribedAt.clone();
            Arrays.sort(at);
            double connectSeconds = (at[total - 1] - start) / 1e9;
            int block = Math.min(BLOCK, total);
            // per client, in ms of wall time: over the first and over the last BLOCK clients
            double firstMs = (at[block - 1] - start) / 1e6 / block;
            double lastMs = (at[total - 1] - (total > block ? at[total - block - 1] : start)) / 1e6 / block;
            System.out.printf(Locale.ROOT, "%d clients connected and subscribed in %.1f s (first %d: %.3f ms each, last %d: %.3f ms each)%n",
                    total, connectSeconds, block, firstMs, block, lastMs);
            // how the cost per client moves along the storm: a cold JVM's first clients, then any growth with the number of clients
            StringBuilder series = new StringBuilder("ms per client, by 250 clients:");
            for (int i = 249; i < total; i += 250) {
                series.append(String.format(Locale.ROOT, " %.2f", (at[i] - (i >= 250 ? at[i - 250] : start)) / 1e6 / 250));
            }
            System.out.println(series);
            result.put("connect_seconds", connectSeconds);
            result.put("connect_first_block_ms_per_client", firstMs);
            result.put("connect_last_block_ms_per_client", lastMs);
            result.put("connect_per_s", total / connectSeconds);

            Thread.sleep(5_000); // idle, as a storm's clients are once it is over
            long rss1 = rssKib(pid);
            result.put("broker_rss_mib", rss1 / 1024.0);
            result.put("broker_rss_kib_per_client", (double) rss1 / total);
            result.put("broker_rss_growth_kib_per_client", (double) (rss1 - rss0) / total);

            try (Publisher publisher = new Publisher(host, integer("port", 1883), args.get("user"), args.get("password"))) {
                // receiving: every client gets every message
                long published = publisher.publish(rate, seconds, 0);
                long want = published * total;
                drain(() -> received >= want, 30);
                result.put("published", published);
                result.put("lost", want - received);
                result.put("duplicates", duplicates);
                result.put("closed_by_broker", subs.closed());
                long[] steady = Arrays.copyOf(steadyLatencies, steadyCount);
                Arrays.sort(steady);
                result.put("latency_p99_ms", percentile(steady, 0.99));
                result.put("latency_max_ms", steady.length == 0 ? Double.NaN : steady[steady.length - 1] / 1000.0);

                // disconnect storm: the first `leave` clients drop at once, one second into --storm-seconds more of the stream
                long[] cpu0 = Load.cpu(pid);
                Thread dropper = new Thread(() -> {
                    try {
                        Thread.sleep(1_000);
                        stormFrom = System.nanoTime();
                        subs.drop(0, leave);
                    } catch (IOException | InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                });
                dropper.start();
                long first = publisher.sent();
                long stormPublished = publisher.publish(rate, integer("storm-seconds", 10), first);
                dropper.join();
                long[] cpu1 = Load.cpu(pid);
                int stay = total - leave;
                drain(() -> stayed(first) >= stormPublished * stay, 30);
                long stayed = stayed(first);
                long[] latencies = Arrays.copyOf(stormLatencies, stormCount);
                Arrays.sort(latencies);
                result.put("leave", leave);
                result.put("storm_lost", stormPublished * stay - stayed);
                result.put("storm_latency_p50_ms", percentile(latencies, 0.50));
                result.put("storm_latency_p99_ms", percentile(latencies, 0.99));
                result.put("storm_latency_max_ms", latencies.length == 0 ? Double.NaN : latencies[latencies.length - 1] / 1000.0);
                result.put("storm_closed_by_broker", subs.closed() - leave);
                result.put("storm_broker_cpu_percent", (cpu1[0] - cpu0[0]) / 100.0 / ((cpu1[1] - cpu0[1]) / 1e9) * 100);
            }
            // the clients that dropped come back (a network blip's reconnect storm, on a broker that has run a while)
            int rejoinWs = (int) ((long) leave * ws / total);
            long[] rejoinedAt = new long[leave];
            long rejoinStart = System.nanoTime();
            try (NioSubscribers back = new NioSubscribers(host, integer("port", 1883), leave - rejoinWs, integer("ws-port", 9001),
                    "bench/storm", 0, rejoinWs, parallel, rejoinedAt, (subscriber, payload, now) -> { })) {
                double rejoinSeconds = (Arrays.stream(rejoinedAt).max().orElse(rejoinStart) - rejoinStart) / 1e9;
                System.out.printf(Locale.ROOT, "%d clients connected and subscribed again in %.1f s (%.3f ms each)%n",
                        leave, rejoinSeconds, rejoinSeconds * 1e3 / leave);
                result.put("rejoin_seconds", rejoinSeconds);
                result.put("rejoin_ms_per_client", rejoinSeconds * 1e3 / leave);
            }
            if (subs.failure() != null) {
                throw new IllegalStateException("the subscribers' thread failed; no figures", subs.failure());
            }
        }
        System.out.println("RESULT " + Load.json(result));
    }

    /** Messages from sequence {@code first} on that the clients which stay have received. */
    private long stayed(long first) {
        long stayed = 0;
        for (int i = leave; i < expected.length; i++) {
            stayed += Math.max(0, expected[i] - first);
        }
        return stayed;
    }

    private static void drain(java.util.function.BooleanSupplier done, int seconds) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (!done.getAsBoolean() && System.nanoTime() < end) {
            Thread.sleep(50);
        }
    }

    private static long rssKib(int pid) throws IOException {
        return pid <= 0 ? 0 : Load.status(pid, "VmRSS");
    }

    private static double percentile(long[] sorted, double p) {
        return sorted.length == 0 ? Double.NaN : sorted[(int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] / 1000.0;
    }

    /** One QoS 0 publisher on a plain socket, to bench/storm; payload: sequence and send time, 64 bytes. */
    private static final class Publisher implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private long seq;

        Publisher(String host, int port, String user, String password) throws IOException {
            socket = new Socket(host, port);
            socket.setTcpNoDelay(true);
            out = socket.getOutputStream();
            out.write(NioSubscribers.connect("bench-storm-pub-" + ProcessHandle.current().pid(), user, password));
            byte[] connack = socket.getInputStream().readNBytes(4);
            if (connack.length < 4 || connack[0] != 0x20 || connack[3] != 0) {
                throw new IOException("CONNACK refused: " + Arrays.toString(connack));
            }
        }

        long sent() {
            return seq;
        }

        /** Publishes at {@code rate} per second for {@code seconds}; returns how many. */
        long publish(double rate, int seconds, long from) throws IOException {
            byte[] topic = "bench/storm".getBytes(StandardCharsets.UTF_8);
            long interval = (long) (1e9 / rate);
            long next = System.nanoTime();
            long end = next + seconds * 1_000_000_000L;
            long count = 0;
            seq = from;
            while (next < end) {
                LockSupport.parkNanos(next - System.nanoTime());
                ByteBuffer body = ByteBuffer.allocate(2 + topic.length + 64);
                body.putShort((short) topic.length).put(topic).putLong(seq++).putLong(System.nanoTime());
                out.write(NioSubscribers.packet(0x30, body.array()));
                count++;
                next += interval;
            }
            return count;
        }

        @Override
        public void close() throws IOException {
            out.write(new byte[] {(byte) 0xE0, 0});
            socket.close();
        }
    }
}
