package history;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Postgres;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Recording never blocks publishing. With PostgreSQL away the bus goes on (publishes acknowledged, events
 * delivered), health shows {@code history} DOWN and the metrics count the events waiting; with PostgreSQL back every
 * event is recorded exactly once and the health and the metrics say so.
 */
class StoreDownIT {

    private static final int EVENTS = 300;
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** The recorder tries again at most every 10 s: back within 30 s of the store. */
    private static final Duration BACK = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void the_bus_goes_on_while_the_store_is_down_and_every_event_is_recorded_once_when_it_is_back() throws Exception {
        try (Postgres postgres = Postgres.start(dir.resolve("postgres"));
             FirehoseApp app = app(postgres).start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/down/#")) {
            String management = app.managementUrl();
            Await.until(WAIT, () -> "UP".equals(HistoryHealth.status(management)), () -> "history: " + HistoryHealth.check(management));

            postgres.stop();
            goesOnWithoutTheStore(app, subscriber, "down");

            postgres.restart();
            recordedOnceWhenBack(app, postgres, "down");
        }
    }

    @Test
    void the_application_starts_while_the_store_is_down_and_records_once_it_is_up() throws Exception {
        try (Postgres postgres = Postgres.start(dir.resolve("postgres"))) {
            postgres.stop();
            try (FirehoseApp app = app(postgres).start();
                 Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/down/#")) {
                goesOnWithoutTheStore(app, subscriber, "early");

                postgres.restart();
                recordedOnceWhenBack(app, postgres, "early");
            }
        }
    }

    @Test
    void a_node_stays_live_and_ready_while_the_store_is_down() throws Exception {
        try (Postgres postgres = Postgres.start(dir.resolve("postgres"))) {
            postgres.stop();
            try (FirehoseApp app = app(postgres).start()) {
                String management = app.managementUrl();
                Await.until(WAIT, () -> "DOWN".equals(HistoryHealth.status(management)), () -> "history: " + HistoryHealth.check(management));
                assertEquals(200, app.http("/observe/health/live").statusCode(), "the store away is no reason to restart the node");
                HttpResponse<String> ready = app.http("/observe/health/ready");
                // the bus goes on: a pod that is not ready leaves its Service, and with one store for all, every pod would
                assertEquals(200, ready.statusCode(), "the store away is no reason to take the node out of its Service: " + ready.body());
            }
        }
    }

    private FirehoseApp.Builder app(Postgres postgres) {
        return FirehoseApp.builder(dir.resolve("data"))
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.history.url", postgres.jdbcUrl())
                .set("firehose.history.user", postgres.user())
                .set("firehose.history.password", postgres.password());
    }

    /** Publishes {@link #EVENTS} at QoS 1, each acknowledged and delivered, while the store is down; the history DOWN. */
    private static void goesOnWithoutTheStore(FirehoseApp app, Subscriber subscriber, String name) throws Exception {
        String management = app.managementUrl();
        MqttClient publisher = Clients.publisher(app.tcpUrl());
        try {
            for (int i = 0; i < EVENTS; i++) {
                Clients.publish(publisher, "ansible/down/" + name, name + " " + i, 1, false); // returns at its PUBACK
            }
        } finally {
            Clients.close(publisher);
        }
        for (int i = 0; i < EVENTS; i++) {
            assertEquals(name + " " + i, subscriber.next(WAIT).payload(), "delivered while the store is down, in order");
        }
        Await.until(WAIT, () -> "DOWN".equals(HistoryHealth.status(management)), () -> "history: " + HistoryHealth.check(management));
        Await.until(WAIT, () -> HistoryHealth.metric(management, "firehose_history_waiting") == EVENTS,
                () -> "waiting: " + HistoryHealth.metric(management, "firehose_history_waiting"));
        JsonNode check = HistoryHealth.check(management);
        assertEquals("DOWN", check.path("status").asText(), check.toString());
        assertTrue(check.path("message").asText().contains("not being recorded"), check.toString());
        assertEquals(EVENTS, check.path("data").path("waiting").asLong(-1), "the check tells how many wait: " + check);
        assertEquals(503, app.http("/observe/health").statusCode(), "the history DOWN: the application's health DOWN");
        assertEquals(0.0, HistoryHealth.metric(management, "firehose_history_lost_total"), "none dropped");
        assertTrue(HistoryHealth.metric(management, "firehose_history_lag_seconds") > 0, "recording is behind");

        HistoryClient.Answer history = new HistoryClient(app.httpUrl()).get("/history" + HistoryClient.query("topic", "ansible/down/#"));
        assertEquals(503, history.status(), "the store away, /history says so: " + history);
        assertEquals("10", history.header("Retry-After").orElse(""), history.toString());
    }

    /** Once the store is back: the check UP, nothing waiting, each event of the batch once in the table and in /history. */
    private static void recordedOnceWhenBack(FirehoseApp app, Postgres postgres, String name) throws Exception {
        String management = app.managementUrl();
        Await.until(BACK, () -> "UP".equals(HistoryHealth.status(management)), () -> "history: " + HistoryHealth.check(management));
        Await.until(WAIT, () -> HistoryHealth.metric(management, "firehose_history_waiting") == 0.0,
                () -> "waiting: " + HistoryHealth.metric(management, "firehose_history_waiting"));
        assertEquals(200, app.http("/observe/health").statusCode(), app.http("/observe/health").body());
        assertEquals(0.0, HistoryHealth.metric(management, "firehose_history_lag_seconds"), "caught up: no lag left from the outage");

        try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
             Statement statement = connection.createStatement();
             ResultSet row = statement.executeQuery("SELECT count(*), count(DISTINCT id), count(DISTINCT payload) FROM events"
                     + " WHERE topic = 'ansible/down/" + name + "'")) {
            assertTrue(row.next());
            assertEquals(List.of(EVENTS, EVENTS, EVENTS), List.of(row.getInt(1), row.getInt(2), row.getInt(3)),
                    "rows, distinct ids, distinct payloads in the events table");
        }
        List<HistoryClient.Event> events = new HistoryClient(app.httpUrl())
                .all("/history" + HistoryClient.query("topic", "ansible/down/" + name, "order", "asc", "limit", "1000"));
        List<String> payloads = events.stream().map(e -> e.payload().asText()).toList();
        assertEquals(IntStream.range(0, EVENTS).mapToObj(i -> name + " " + i).toList(), payloads, "each once, in the order published");
        Set<String> ids = new HashSet<>();
        events.forEach(e -> ids.add(e.id()));
        assertEquals(EVENTS, ids.size(), "an id each");
        assertTrue(HistoryHealth.metric(management, "firehose_history_recorded_total") >= EVENTS);
        assertEquals(0.0, HistoryHealth.metric(management, "firehose_history_lost_total"));
    }
}
