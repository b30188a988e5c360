package bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The sustained recording rate of the history: one MQTT publisher (a plain socket, QoS 0, about 1 KiB of Gerrit-like
 * JSON per event, topics {@code bench/gerrit/openstack/<project>/<event>}) publishes at a fixed rate for a step while
 * the broker's metrics are read every second ({@code firehose_history_waiting}, {@code _lag_seconds},
 * {@code _recorded_total}, {@code _lost_total}). A step passes when the lag stayed under {@code --max-lag} seconds,
 * nothing was lost, the publisher kept its rate (95%), and what waited at its end was recorded within 5 s. The rates
 * double from {@code --start} until a step fails (or {@code --top}); one more step tries half-way between the last
 * rate that passed and the first that failed; then the best rate is held for {@code --confirm} seconds (if that fails,
 * 70% of it, then 50%).
 *
 * <pre>
 * java bench.HistoryRate --port 1883 --user bench --password pw --metrics http://127.0.0.1:PORT/observe/metrics \
 *      --label h2 [--broker-pid PID] [--start 1000] [--top 64000] [--step 15] [--confirm 60] [--max-lag 1] [--size 1024]
 * </pre>
 * One {@code STEP {json}} line per step, then {@code RESULT {json}}. {@code --only RATE}: one step at that rate, nothing
 * judged (with the history off, the broker's CPU for taking the events in alone).
 */
public final class HistoryRate {

    private static final String[] PROJECTS = {"nova", "neutron", "cinder", "keystone", "glance", "horizon", "swift", "heat"};
    private static final String[] EVENTS = {"comment-added", "patchset-created", "ref-updated", "change-merged"};

    private final Map<String, String> args;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final URI metrics;
    private final int size;
    private final double maxLag;
    private long published;

    private HistoryRate(Map<String, String> args) {
        this.args = args;
        this.metrics = URI.create(args.get("metrics"));
        this.size = Integer.parseInt(args.getOrDefault("size", "1024"));
        this.maxLag = Double.parseDouble(args.getOrDefault("max-lag", "1"));
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        new HistoryRate(args).run();
    }

    /** One step's outcome. */
    record Step(int rate, int seconds, double publishedPerSecond, double recordedPerSecond, double maxLagSeconds,
                long maxWaiting, long waitingAtEnd, double drainSeconds, long lost, double brokerCpuPercent, boolean passed) {
        String json(String label, String phase) {
            return String.format(Locale.ROOT, "{\"label\":\"%s\",\"phase\":\"%s\",\"rate\":%d,\"seconds\":%d,\"published_per_s\":%.0f,"
                    + "\"recorded_per_s\":%.0f,\"max_lag_s\":%.3f,\"max_waiting\":%d,\"waiting_at_end\":%d,\"drain_s\":%.1f,\"lost\":%d,"
                    + "\"broker_cpu_percent\":%.0f,\"passed\":%b}",
                    label, phase, rate, seconds, publishedPerSecond, recordedPerSecond, maxLagSeconds, maxWaiting, waitingAtEnd, drainSeconds,
                    lost, brokerCpuPercent, passed);
        }
    }

    private void run() throws Exception {
        String label = args.getOrDefault("label", "");
        int start = Integer.parseInt(args.getOrDefault("start", "1000"));
        int top = Integer.parseInt(args.getOrDefault("top", "64000"));
        int stepSeconds = Integer.parseInt(args.getOrDefault("step", "15"));
        int confirmSeconds = Integer.parseInt(args.getOrDefault("confirm", "60"));
        try (Socket socket = new Socket(args.getOrDefault("host", "127.0.0.1"), Integer.parseInt(args.get("port")))) {
            socket.setTcpNoDelay(true);
            socket.setSendBufferSize(1 << 20);
            OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 256 * 1024);
            InputStream in = NioSubscribers.connected(socket, out, "bench-history-" + ProcessHandle.current().pid(), args.get("user"),
                    args.get("password"));
            Thread drain = new Thread(() -> {
                byte[] sink = new byte[4096];
                try {
                    while (in.read(sink) >= 0) {
                        // nothing comes at QoS 0 but a closing connection
                    }
                } catch (IOException closed) {
                    // done
                }
            }, "drain");
            drain.setDaemon(true);
            drain.start();
            byte[][] packets = packets(64);

            publish(out, packets, Math.max(100, start / 2), 5); // warm-up, not judged
            settle();
            if (args.containsKey("only")) { // one step at one rate (a baseline, with the history off)
                Step step = step(out, packets, Integer.parseInt(args.get("only")), stepSeconds);
                System.out.println("STEP " + step.json(label, "only"));
                out.write(new byte[] {(byte) 0xE0, 0});
                out.flush();
                return;
            }

            List<Step> ramp = new ArrayList<>();
            Step lastPass = null;
            Step firstFail = null;
            for (int rate = start; rate <= top; rate *= 2) {
                Step step = step(out, packets, rate, stepSeconds);
                System.out.println("STEP " + step.json(label, "ramp"));
                ramp.add(step);
                if (step.passed()) {
                    lastPass = step;
                } else {
                    firstFail = step;
                    break;
                }
            }
            if (lastPass != null && firstFail != null) {
                int middle = (int) Math.round(Math.sqrt((double) lastPass.rate() * firstFail.rate()) / 500.0) * 500;
                if (middle > lastPass.rate() && middle < firstFail.rate()) {
                    Step step = step(out, packets, middle, stepSeconds);
                    System.out.println("STEP " + step.json(label, "ramp"));
                    ramp.add(step);
                    if (step.passed()) {
                        lastPass = step;
                    }
                }
            }
            Step confirmed = null;
            List<Integer> candidates = new ArrayList<>();
            if (lastPass != null) {
                // the best rate of the ramp, then 70% and 50% of it: at most three holds
                for (double share : new double[] {1, 0.7, 0.5}) {
                    int rate = share == 1 ? lastPass.rate() : (int) Math.max(500, Math.round(lastPass.rate() * share / 500.0) * 500);
                    if (!candidates.contains(rate)) {
                        candidates.add(rate);
                    }
                }
            }
            for (int rate : candidates) {
                Step step = step(out, packets, rate, confirmSeconds);
                System.out.println("STEP " + step.json(label, "confirm"));
                if (step.passed()) {
                    confirmed = step;
                    break;
                }
            }
            Map<String, Double> m = read();
            System.out.printf(Locale.ROOT, "%s: sustained %s events/s for %d s (lag under %.1f s); ramp stopped at %s%n", label,
                    confirmed == null ? "none" : String.format(Locale.ROOT, "%,d", confirmed.rate()), confirmSeconds, maxLag,
                    firstFail == null ? "the top rate" : String.format(Locale.ROOT, "%,d/s (recorded %,.0f/s, lag %.1f s)",
                            firstFail.rate(), firstFail.recordedPerSecond(), firstFail.maxLagSeconds()));
            System.out.printf(Locale.ROOT, "RESULT {\"label\":\"%s\",\"sustained_rate\":%d,\"confirm_seconds\":%d,\"confirm\":%s,"
                    + "\"first_failed_rate\":%d,\"first_failed_recorded_per_s\":%.0f,\"published\":%d,\"recorded\":%.0f,\"lost\":%.0f}%n",
                    label, confirmed == null ? 0 : confirmed.rate(), confirmSeconds, confirmed == null ? "null" : confirmed.json(label, "confirm"),
                    firstFail == null ? 0 : firstFail.rate(), firstFail == null ? 0 : firstFail.recordedPerSecond(), published,
                    m.getOrDefault("firehose_history_recorded_total", -1.0), m.getOrDefault("firehose_history_lost_total", -1.0));
            out.write(new byte[] {(byte) 0xE0, 0});
            out.flush();
        }
    }

    /** Publishes at {@code rate} for {@code seconds} with the metrics read each second, then waits for the backlog to go. */
    private Step step(OutputStream out, byte[][] packets, int rate, int seconds) throws Exception {
        Map<String, Double> before = read();
        AtomicLong maxWaiting = new AtomicLong();
        double[] maxLagSeen = {0};
        double recordedBefore = before.getOrDefault("firehose_history_recorded_total", 0.0);
        long stepStart = System.nanoTime();
        Thread poller = new Thread(() -> {
            long next = System.nanoTime();
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Map<String, Double> m = read();
                    maxWaiting.accumulateAndGet(m.getOrDefault("firehose_history_waiting", 0.0).longValue(), Math::max);
                    // idle, the lag gauge shows how late the last batch was: the previous step's, until this step's
                    // first batch is written (or, if none is within 2 s, the age of the one being written)
                    if (m.getOrDefault("firehose_history_recorded_total", 0.0) > recordedBefore
                            || System.nanoTime() - stepStart > 2_000_000_000L) {
                        synchronized (maxLagSeen) {
                            maxLagSeen[0] = Math.max(maxLagSeen[0], m.getOrDefault("firehose_history_lag_seconds", 0.0));
                        }
                    }
                    next += 1_000_000_000L;
                    LockSupport.parkNanos(next - System.nanoTime());
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    next += 1_000_000_000L; // one poll missed: the next second's
                    LockSupport.parkNanos(Math.max(0, next - System.nanoTime()));
                }
            }
        }, "metrics");
        poller.setDaemon(true);
        int brokerPid = Integer.parseInt(args.getOrDefault("broker-pid", "0"));
        long[] cpu0 = Load.cpu(brokerPid);
        long t0 = System.nanoTime();
        poller.start();
        long sent;
        long[] cpu1;
        double took;
        Map<String, Double> atEnd;
        try {
            sent = publish(out, packets, rate, seconds);
            took = (System.nanoTime() - t0) / 1e9;
            atEnd = read();
            cpu1 = Load.cpu(brokerPid);
        } finally {
            poller.interrupt();
            poller.join();
        }
        // what waited at the end, recorded within 5 s (the next step starts from an empty backlog either way, at most 60 s)
        long drainStart = System.nanoTime();
        double drainSeconds = -1;
        Map<String, Double> after = atEnd;
        while (System.nanoTime() - drainStart < 60_000_000_000L) {
            after = read();
            if (after.getOrDefault("firehose_history_waiting", 0.0) == 0) {
                drainSeconds = (System.nanoTime() - drainStart) / 1e9;
                break;
            }
            Thread.sleep(100);
        }
        double lagAfter = after.getOrDefault("firehose_history_lag_seconds", 0.0);
        double lag;
        synchronized (maxLagSeen) {
            lag = Math.max(maxLagSeen[0], atEnd.getOrDefault("firehose_history_lag_seconds", 0.0));
        }
        long lost = (long) (after.getOrDefault("firehose_history_lost_total", 0.0) - before.getOrDefault("firehose_history_lost_total", 0.0));
        double recordedPerSecond = (atEnd.getOrDefault("firehose_history_recorded_total", 0.0)
                - before.getOrDefault("firehose_history_recorded_total", 0.0)) / took;
        double publishedPerSecond = sent / took;
        boolean passed = lag < maxLag && lagAfter < maxLag && lost == 0 && publishedPerSecond >= 0.95 * rate
                && drainSeconds >= 0 && drainSeconds <= 5;
        // utime + stime in clock ticks (100/s) over the time read: the broker's CPU, 100% = one core
        double cpu = brokerPid > 0 ? (cpu1[0] - cpu0[0]) / 100.0 / ((cpu1[1] - cpu0[1]) / 1e9) * 100 : -1;
        Step step = new Step(rate, seconds, publishedPerSecond, recordedPerSecond, Math.max(lag, lagAfter), maxWaiting.get(),
                atEnd.getOrDefault("firehose_history_waiting", 0.0).longValue(), drainSeconds, lost, cpu, passed);
        System.out.printf(Locale.ROOT, "%,d/s for %d s: published %,.0f/s, recorded %,.0f/s, lag max %.2f s, waiting max %,d (at end %,d, gone in %.1f s), lost %,d, broker CPU %.0f%%: %s%n",
                rate, seconds, publishedPerSecond, recordedPerSecond, step.maxLagSeconds(), step.maxWaiting(), step.waitingAtEnd(), drainSeconds,
                lost, cpu, passed ? "ok" : "FAILED");
        settle();
        return step;
    }

    /** Two quiet seconds and an empty backlog (at most 60 s) between steps. */
    private void settle() throws Exception {
        long until = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < until && read().getOrDefault("firehose_history_waiting", 0.0) > 0) {
            Thread.sleep(200);
        }
        Thread.sleep(2000);
    }

    /** Publishes at {@code rate} events/s for {@code seconds}: every millisecond, what is due by then. */
    private long publish(OutputStream out, byte[][] packets, int rate, int seconds) throws IOException {
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        long sent = 0;
        while (true) {
            long now = System.nanoTime();
            if (now >= end) {
                break;
            }
            long due = (long) ((now - start) / 1e9 * rate);
            if (sent >= due) {
                LockSupport.parkNanos(Math.min(1_000_000L, end - now));
                continue;
            }
            while (sent < due) {
                byte[] packet = packets[(int) (published % packets.length)];
                stamp(packet, published);
                out.write(packet);
                sent++;
                published++;
            }
            out.flush();
        }
        out.flush();
        return sent;
    }

    /** The event's sequence number, written into its payload's first digits (so that no two payloads are the same). */
    private static void stamp(byte[] packet, long seq) {
        int at = packet.length - 3; // "...0000000000\"}" : the digits end before the closing quote and brace
        for (int i = 0; i < 10; i++) {
            packet[at - i] = (byte) ('0' + seq % 10);
            seq /= 10;
        }
    }

    /** PUBLISH packets (QoS 0) of about {@code size} bytes of JSON each, to a few realistic topics. */
    private byte[][] packets(int count) {
        SplittableRandom random = new SplittableRandom(1);
        byte[][] packets = new byte[count][];
        for (int i = 0; i < count; i++) {
            String project = PROJECTS[i % PROJECTS.length];
            String event = EVENTS[(i / PROJECTS.length) % EVENTS.length];
            String topic = "bench/gerrit/openstack/" + project + "/" + event;
            String head = String.format(Locale.ROOT, "{\"type\":\"%s\",\"change\":{\"project\":\"openstack/%s\",\"branch\":\"master\","
                    + "\"number\":%d,\"subject\":\"Fix the scheduler's handling of a resize\"},\"comment\":\"", event, project, 800_000 + random.nextInt(100_000));
            StringBuilder payload = new StringBuilder(head);
            String words = "Patch Set 3: Code-Review+1 Looks good to me, but someone else must approve. Build succeeded. ";
            while (payload.length() < size - 14) {
                payload.append(words.charAt(payload.length() % words.length()));
            }
            payload.append("0000000000\"}");
            byte[] t = topic.getBytes(StandardCharsets.UTF_8);
            byte[] body = payload.toString().getBytes(StandardCharsets.UTF_8);
            byte[] variable = new byte[2 + t.length + body.length];
            variable[0] = (byte) (t.length >> 8);
            variable[1] = (byte) t.length;
            System.arraycopy(t, 0, variable, 2, t.length);
            System.arraycopy(body, 0, variable, 2 + t.length, body.length);
            packets[i] = NioSubscribers.packet(0x30, variable);
        }
        return packets;
    }

    /** The metrics this tool reads, by name (a metric with labels is left out). */
    private Map<String, Double> read() throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        Map<String, Double> values = new HashMap<>();
        for (String line : response.body().split("\n")) {
            if (line.startsWith("firehose_history_")) {
                String[] parts = line.split(" ");
                if (parts.length == 2 && !parts[0].contains("{")) {
                    values.put(parts[0], Double.parseDouble(parts[1]));
                }
            }
        }
        return values;
    }
}
