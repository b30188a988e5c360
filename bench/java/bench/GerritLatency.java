package bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import firehose.Clients;
import firehose.FirehoseApp;
import gerrit.FakeGerrit;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttMessage;

/**
 * End-to-end latency of Gerrit events: from the line the fake Gerrit writes on its SSH channel to its arrival at
 * MQTT subscribers, against the same 1 KiB payloads published straight to the broker by an MQTT client (QoS 1).
 *
 * usage: GerritLatency [subscribers rate seconds]...   (default: 1000 20 30  10 1000 20)
 */
public final class GerritLatency {

    private static final int PAYLOAD = 1024;

    public static void main(String[] args) throws Exception {
        int[] plan = args.length >= 3 ? Arrays.stream(args).mapToInt(Integer::parseInt).toArray() : new int[] {1000, 20, 30, 10, 1000, 20};
        Path dir = Files.createTempDirectory("firehose-bench");
        try (FakeGerrit gerrit = new FakeGerrit()) {
            Path knownHosts = gerrit.writeKnownHosts(dir.resolve("known_hosts"));
            try (FirehoseApp app = FirehoseApp.builder(dir.resolve("data"))
                    .set("firehose.broker.sys-interval", "0")
                    .set("camel.route-template[review].template-id", "gerrit")
                    .set("camel.route-template[review].host", "127.0.0.1")
                    .set("camel.route-template[review].port", String.valueOf(gerrit.port()))
                    .set("camel.route-template[review].username", FakeGerrit.USER)
                    .set("camel.route-template[review].key-file", FakeGerrit.KEYS.resolve("id_ed25519").toAbsolutePath().toString())
                    .set("camel.route-template[review].known-hosts", knownHosts.toString())
                    .start()) {
                gerrit.awaitOpened(1, Duration.ofSeconds(30));
                // warm up both paths (JIT, connections) before measuring; these results are not reported
                MqttAsyncClient warm = new MqttAsyncClient(app.tcpUrl(), Clients.id("warm"), null);
                warm.connect(Clients.options(app.tcpUrl(), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)).waitForCompletion();
                run(null, app, 10, 1000, 5, "gerrit/#", line -> gerrit.send(line));
                run(null, app, 10, 1000, 5, "ansible/#", line -> warm.publish("ansible/warm", new MqttMessage(line.getBytes(StandardCharsets.UTF_8))));
                warm.disconnect().waitForCompletion();
                warm.close();
                System.out.printf("%-30s %8s %10s %9s %9s %9s %9s %12s%n", "scenario", "events", "deliveries", "lost", "p50 ms", "p99 ms",
                        "max ms", "send p99 ms");
                for (int i = 0; i + 2 < plan.length; i += 3) {
                    int subscribers = plan[i];
                    int rate = plan[i + 1];
                    int seconds = plan[i + 2];
                    String label = subscribers + " subs, " + rate + " ev/s";
                    run(label + ", gerrit", app, subscribers, rate, seconds, "gerrit/#", line -> gerrit.send(line));
                    MqttAsyncClient direct = new MqttAsyncClient(app.tcpUrl(), Clients.id("direct"), null);
                    direct.connect(Clients.options(app.tcpUrl(), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)).waitForCompletion();
                    run(label + ", direct", app, subscribers, rate, seconds, "ansible/#", line -> {
                        MqttMessage m = new MqttMessage(line.getBytes(StandardCharsets.UTF_8));
                        m.setQos(1);
                        direct.publish("ansible/bench/comment-added", m);
                    });
                    direct.disconnect().waitForCompletion();
                    direct.close();
                }
            }
        }
        System.exit(0);
    }

    interface Sender {
        void send(String line) throws Exception;
    }

    private static void run(String label, FirehoseApp app, int subscribers, int rate, int seconds, String filter, Sender sender) throws Exception {
        int events = rate * seconds;
        long[] sends = new long[events];
        long[] latencies = new long[events * subscribers];
        AtomicInteger count = new AtomicInteger();
        try (NioSubscribers subs = new NioSubscribers("127.0.0.1", app.port("mqtt"), subscribers, filter, (payload, now) -> {
            int i = count.getAndIncrement();
            if (i < latencies.length) {
                latencies[i] = now - timestamp(payload);
            }
        })) {
            subs.awaitSubscribed(60);
            String pad = "x".repeat(PAYLOAD);
            long interval = TimeUnit.SECONDS.toNanos(1) / rate;
            long next = System.nanoTime();
            for (int e = 0; e < events; e++) {
                LockSupport.parkNanos(next - System.nanoTime());
                long start = System.nanoTime();
                String head = "{\"type\":\"comment-added\",\"project\":\"bench/p\",\"ts\":" + start + ",\"pad\":\"";
                sender.send(head + pad.substring(0, PAYLOAD - head.length() - 2) + "\"}");
                sends[e] = System.nanoTime() - start;
                next += interval;
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (count.get() < latencies.length && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }
        if (label == null) {
            return;
        }
        int n = Math.min(count.get(), latencies.length);
        long[] got = Arrays.copyOf(latencies, n);
        Arrays.sort(got);
        Arrays.sort(sends);
        System.out.printf(Locale.ROOT, "%-30s %8d %10d %9d %9.2f %9.2f %9.2f %12.2f%n", label, events, n, (long) events * subscribers - n,
                ms(got, 0.50), ms(got, 0.99), n == 0 ? 0 : got[n - 1] / 1e6, ms(sends, 0.99));
    }

    private static double ms(long[] sorted, double quantile) {
        return sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)] / 1e6;
    }

    private static long timestamp(ByteBuffer payload) {
        byte[] key = "\"ts\":".getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = payload.position(); i < payload.limit() - key.length; i++) {
            for (int k = 0; k < key.length; k++) {
                if (payload.get(i + k) != key[k]) {
                    continue outer;
                }
            }
            long value = 0;
            for (int j = i + key.length; j < payload.limit() && Character.isDigit(payload.get(j)); j++) {
                value = value * 10 + (payload.get(j) - '0');
            }
            return value;
        }
        throw new IllegalStateException("no timestamp in payload");
    }
}
