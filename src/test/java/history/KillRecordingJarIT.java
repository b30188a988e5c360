package history;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import broker.events.EventIds;
import firehose.Await;
import firehose.Clients;
import firehose.FatJar;
import firehose.FirehoseApp;
import firehose.Postgres;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A QoS 1 event the node acknowledged is recorded even if the node is killed right after, with
 * {@code firehose.broker.journal-sync=true} (with the default, a PUBACK does not wait for the journal write). The packaged jar
 * takes a burst of QoS 1 events and is killed (SIGKILL) the instant the last PUBACK arrives, three times on one data
 * directory; started once more, its history holds every acknowledged event exactly once, in the order published. With
 * PostgreSQL stopped before the first burst nothing is recorded before the kills: every event comes from the broker's
 * journal. With the embedded H2 store the kills land while batches are being written and acknowledged.
 */
class KillRecordingJarIT {

    /** QoS 1 events a burst publishes, each acknowledged before the kill. */
    private static final int EVENTS = 2_000;
    /** Bursts, each ended by a kill: what is lost is lost in a window of milliseconds, so a few chances to see it. */
    private static final int ROUNDS = 3;
    private static final String FILTER = "ansible/kill/#";
    private static final Duration START = Duration.ofSeconds(90);
    private static final Duration CATCH_UP = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void events_acknowledged_while_the_store_is_down_come_from_the_journal_after_a_kill_9() throws Exception {
        try (Postgres postgres = Postgres.start(dir.resolve("postgres"))) {
            List<String> store = List.of("-Dfirehose.history.url=" + postgres.jdbcUrl(), "-Dfirehose.history.user=" + postgres.user(),
                    "-Dfirehose.history.password=" + postgres.password());
            Path home = dir.resolve("home");
            for (int round = 0; round < ROUNDS; round++) {
                Node node = Node.start(home, store);
                try {
                    if (round == 0) {
                        Await.until(START, () -> "UP".equals(HistoryHealth.status(node.managementUrl())), () -> "history not UP: " + node.output());
                        postgres.stop(); // nothing can be recorded now: every acknowledged event is only in the broker's journal
                    }
                    node.publishThenKill(round);
                } finally {
                    node.kill();
                }
            }
            postgres.restart();
            assertEquals(0, recordedIn(postgres), "nothing was recorded before the kills: the journal alone holds the events");

            Node again = Node.start(home, store);
            try {
                again.awaitCaughtUp();
                again.assertRecordedOnce();
                assertEquals(ROUNDS * EVENTS, recordedIn(postgres), "rows in the events table");
                assertEquals(ROUNDS * EVENTS, HistoryHealth.metric(again.managementUrl(), "firehose_history_recorded_total"), 0.0,
                        "every event recorded after the last start, from the journal");
            } finally {
                again.stop();
            }
        }
    }

    @Test
    void events_acknowledged_just_before_a_kill_9_are_recorded_once_in_the_embedded_store() throws Exception {
        Path home = dir.resolve("home");
        for (int round = 0; round < ROUNDS; round++) {
            Node node = Node.start(home, List.of());
            try {
                // from the second round on, the recorder catches up with the journal while the next burst comes in
                Await.until(START, () -> "UP".equals(HistoryHealth.status(node.managementUrl())), () -> "history not UP: " + node.output());
                node.publishThenKill(round);
            } finally {
                node.kill();
            }
        }
        Node again = Node.start(home, List.of());
        try {
            again.awaitCaughtUp();
            again.assertRecordedOnce();
            // how many the journal still held at the last kill: written, or read and not acknowledged, or not read yet
            System.out.println("recorded after the last start: " + HistoryHealth.metric(again.managementUrl(), "firehose_history_recorded_total"));
        } finally {
            again.stop();
        }
    }

    /** Events of {@link #FILTER} in PostgreSQL's events table, counted by distinct id. */
    private static int recordedIn(Postgres postgres) throws Exception {
        try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
             Statement statement = connection.createStatement();
             ResultSet row = statement.executeQuery("SELECT count(*), count(DISTINCT id) FROM events WHERE topic LIKE 'ansible/kill/%'")) {
            assertTrue(row.next());
            assertEquals(row.getInt(1), row.getInt(2), "no id twice");
            return row.getInt(1);
        }
    }

    /** 3, 4, 5, 9 as "[3-5, 9]". */
    private static String ranges(Set<Integer> sorted) {
        List<String> ranges = new ArrayList<>();
        Integer first = null;
        Integer last = null;
        for (int n : sorted) {
            if (last != null && n == last + 1) {
                last = n;
                continue;
            }
            if (first != null) {
                ranges.add(first.equals(last) ? "" + first : first + "-" + last);
            }
            first = n;
            last = n;
        }
        if (first != null) {
            ranges.add(first.equals(last) ? "" + first : first + "-" + last);
        }
        return ranges.toString();
    }

    private static String payload(int sequence) {
        return "kill " + sequence;
    }

    /** The jar, started in {@code home} on free ports, its data in {@code home/data}. */
    private record Node(Process process, Path home, int mqtt, int http, int management) {

        static Node start(Path home, List<String> extra) throws Exception {
            Files.createDirectories(home);
            int mqtt = FirehoseApp.freePort();
            int http = FirehoseApp.freePort();
            int management = FirehoseApp.freePort();
            List<String> options = new ArrayList<>(List.of("-Xmx512m",
                    "-Dfirehose.broker.host=127.0.0.1",
                    "-Dfirehose.broker.mqtt-port=" + mqtt,
                    "-Dfirehose.broker.ws-port=0",
                    "-Dfirehose.broker.sys-interval=0",
                    // the setting that makes a PUBACK wait for the journal (docs/history.md: what journal-sync=false loses)
                    "-Dfirehose.broker.journal-sync=true",
                    "-Dfirehose.broker.data-dir=" + home.resolve("data"),
                    "-Dcamel.server.port=" + http,
                    "-Dcamel.server.host=127.0.0.1",
                    "-Dcamel.management.port=" + management,
                    "-Dcamel.management.host=127.0.0.1",
                    "-Dfirehose.publisher[" + FirehoseApp.PUBLISHER + "].password=" + FirehoseApp.PUBLISHER_PASSWORD,
                    "-Dfirehose.publisher[" + FirehoseApp.PUBLISHER + "].topics=ansible/#"));
            options.addAll(extra);
            // each start its own log: the killed node's is kept
            Path log = FatJar.log(home);
            if (Files.exists(log)) {
                Files.move(log, home.resolve("firehose-" + System.nanoTime() + ".log"));
            }
            Process process = FatJar.start(home, options);
            Node node = new Node(process, home, mqtt, http, management);
            Await.until(START, () -> FatJar.status(management, "/observe/health/ready") == 200 || !process.isAlive(),
                    () -> "not ready: " + node.output());
            assertTrue(process.isAlive(), () -> "exited: " + node.output());
            return node;
        }

        String managementUrl() {
            return "http://127.0.0.1:" + management;
        }

        String httpUrl() {
            return "http://127.0.0.1:" + http;
        }

        String output() {
            return FatJar.output(home);
        }

        /** Publishes {@link #EVENTS} QoS 1 events as fast as the window allows and kills the node at the last PUBACK. */
        void publishThenKill(int round) throws Exception {
            String url = "tcp://127.0.0.1:" + mqtt;
            MqttAsyncClient client = new MqttAsyncClient(url, Clients.id("burst"), null);
            Semaphore window = new Semaphore(1_000);
            AtomicInteger acknowledged = new AtomicInteger();
            CountDownLatch killed = new CountDownLatch(1);
            client.setCallback(new MqttCallback() {
                @Override
                public void deliveryComplete(IMqttDeliveryToken token) {
                    window.release();
                    if (acknowledged.incrementAndGet() == EVENTS) {
                        process.destroyForcibly(); // SIGKILL: no shutdown hook, no journal close, no last batch
                        killed.countDown();
                    }
                }

                @Override
                public void messageArrived(String topic, MqttMessage message) {
                }

                @Override
                public void connectionLost(Throwable cause) {
                }
            });
            try {
                client.connect(Clients.options(url, FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)).waitForCompletion(20_000);
                long start = System.nanoTime();
                for (int i = 0; i < EVENTS; i++) {
                    assertTrue(window.tryAcquire(30, TimeUnit.SECONDS), "no PUBACK for 30 s after " + acknowledged.get());
                    MqttMessage message = new MqttMessage(payload(round * EVENTS + i).getBytes(StandardCharsets.UTF_8));
                    message.setQos(1);
                    client.publish("ansible/kill/" + i % 10, message);
                }
                assertTrue(killed.await(60, TimeUnit.SECONDS), "acknowledged: " + acknowledged.get() + " of " + EVENTS);
                System.out.printf("round %d: %d events acknowledged in %d ms, then SIGKILL%n", round, EVENTS,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                assertTrue(process.waitFor(30, TimeUnit.SECONDS), "killed");
                assertEquals(137, process.exitValue(), "128 + SIGKILL");
                assertFalse(output().contains("Broker stopped"), "killed, not stopped: " + output());
            } finally {
                client.disconnectForcibly(0, 1_000, false);
                client.close(true);
            }
        }

        /** Waits until the broker holds no event for the store any more (each one written and acknowledged). */
        void awaitCaughtUp() throws InterruptedException {
            Await.until(CATCH_UP, () -> HistoryHealth.metric(managementUrl(), "firehose_history_waiting") == 0.0,
                    () -> "waiting: " + HistoryHealth.metric(managementUrl(), "firehose_history_waiting") + ", history "
                            + HistoryHealth.check(managementUrl()) + "\n" + output());
        }

        /** {@code GET /history} lists each event of every round once, in the order they were published, each its own id. */
        void assertRecordedOnce() throws Exception {
            List<HistoryClient.Event> events = new HistoryClient(httpUrl())
                    .all("/history" + HistoryClient.query("topic", FILTER, "order", "asc", "limit", "1000"));
            List<Integer> sequence = new ArrayList<>();
            Set<String> ids = new HashSet<>();
            for (HistoryClient.Event event : events) {
                String payload = event.payload().asText();
                assertTrue(payload.startsWith("kill "), event.json().toString());
                sequence.add(Integer.parseInt(payload.substring("kill ".length())));
                assertTrue(EventIds.wellFormed(event.id()), event.json().toString());
                assertTrue(ids.add(event.id()), "id twice: " + event.id());
            }
            int acknowledged = ROUNDS * EVENTS;
            List<Integer> expected = IntStream.range(0, acknowledged).boxed().toList();
            if (!sequence.equals(expected)) {
                Set<Integer> missing = new TreeSet<>(expected);
                missing.removeAll(sequence);
                Set<Integer> seen = new HashSet<>();
                List<Integer> twice = sequence.stream().filter(s -> !seen.add(s)).toList();
                fail(events.size() + " recorded of " + acknowledged + " acknowledged (" + EVENTS + " a round); missing " + missing.size()
                        + " " + ranges(missing) + "; twice " + twice.size() + " " + twice.stream().limit(20).toList()
                        + (missing.isEmpty() && twice.isEmpty() ? "; out of order" : ""));
            }
            assertEquals(acknowledged, ids.size());
        }

        void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }

        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }
}
