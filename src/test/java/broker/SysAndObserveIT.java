package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** $SYS/broker/... like Mosquitto's, and the same figures plus health on the management port. */
class SysAndObserveIT {

    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path data;

    @Test
    void sys_clients_connected_is_readable_anonymously_and_follows_connections() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "1").start();
             Subscriber sys = Subscriber.on(app.tcpUrl(), "$SYS/broker/clients/connected")) {
            int before = Integer.parseInt(sys.next(WAIT).payload());

            List<MqttClient> more = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                more.add(Clients.connect(app.wsUrl(), null, null));
            }
            int seen = before;
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (seen < before + 3 && System.nanoTime() < deadline) {
                seen = Integer.parseInt(sys.next(WAIT).payload());
            }
            assertTrue(seen >= before + 3, "connected went from " + before + " to " + seen);
            more.forEach(Clients::close);
        }
    }

    @Test
    void sys_tree_has_mosquitto_names_and_formats() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "1").start();
             Subscriber sys = Subscriber.on(app.tcpUrl(), "$SYS/#")) {
            java.util.Map<String, String> tree = new java.util.HashMap<>();
            while (tree.size() < 7) {
                Subscriber.Received r = sys.next(WAIT);
                tree.put(r.topic(), r.payload());
            }
            assertTrue(tree.get("$SYS/broker/version").matches("firehose version \\S+ \\(ActiveMQ Artemis 2\\.55\\.0\\)"), tree.toString());
            assertTrue(tree.get("$SYS/broker/uptime").matches("\\d+ seconds"), tree.toString());
            for (String counter : List.of("clients/connected", "clients/total", "messages/received", "messages/sent", "messages/dropped")) {
                assertTrue(tree.get("$SYS/broker/" + counter).matches("\\d+"), counter + " in " + tree);
            }
        }
    }

    @Test
    void hash_subscribers_do_not_get_sys_topics() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "1").start();
             Subscriber everything = Subscriber.on(app.tcpUrl(), "#");
             Subscriber sys = Subscriber.on(app.tcpUrl(), "$SYS/#")) {
            for (int i = 0; i < 14; i++) {
                sys.next(WAIT); // two rounds of $SYS have gone out
            }
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/marker", "m", 1, false);
            Clients.close(publisher);
            assertEquals("ansible/marker", everything.next(WAIT).topic(), "MQTT-4.7.2-1: '#' does not match $SYS");
        }
    }

    @Test
    void nobody_can_read_the_brokers_internal_session_store() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber snoop = Subscriber.connect(app.tcpUrl(), Clients.id("snoop"), true)) {
            int[] granted = snoop.client().subscribeWithResponse(new String[] {"$sys/#", "$sys/mqtt/sessions"}, new int[] {1, 1})
                    .getGrantedQos();
            assertEquals(128, granted[0], "$sys/# refused");
            assertEquals(128, granted[1], "$sys/mqtt/sessions refused");
            // a persistent session writes its state into $sys.mqtt.sessions
            Subscriber.connect(app.tcpUrl(), Clients.id("victim"), false).subscribe("ansible/private-interest", 1).close();
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.close(publisher);
            assertNull(snoop.poll(Duration.ofMillis(500)), "no session state leaks");
        }
    }

    @Test
    void health_is_up_while_the_broker_accepts_and_down_when_it_does_not() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            HttpResponse<String> up = app.http("/observe/health");
            assertEquals(200, up.statusCode());
            assertTrue(up.body().contains("\"UP\""), up.body());

            app.broker().stop();
            HttpResponse<String> down = app.http("/observe/health");
            assertEquals(503, down.statusCode(), down.body());
            assertTrue(down.body().contains("DOWN"), down.body());
            app.broker().start();
            HttpResponse<String> back = app.http("/observe/health");
            assertTrue(back.body().contains("\"name\":\"broker\",\"status\":\"UP\""), back.body());
            // the history's recorder subscribes again within its back-off (1 s)
            Await.until(WAIT, () -> healthStatus(app) == 200, () -> "health after the restart");
        }
    }

    private static int healthStatus(FirehoseApp app) {
        try {
            return app.http("/observe/health").statusCode();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void metrics_show_connections_and_message_counts_in_prometheus_format() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/#")) {
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            for (int i = 0; i < 5; i++) {
                Clients.publish(publisher, "ansible/metrics", "m" + i, 1, false);
            }
            for (int i = 0; i < 5; i++) {
                subscriber.next(WAIT);
            }
            String metrics = app.http("/observe/metrics").body();
            assertTrue(value(metrics, "firehose_broker_connections") >= 3, metrics);
            assertTrue(value(metrics, "firehose_broker_messages_received_total") >= 5, metrics);
            assertTrue(value(metrics, "firehose_broker_messages_sent_total") >= 5, metrics);
            assertTrue(metrics.contains("firehose_broker_messages_dropped_total"), metrics);
            Clients.close(publisher);
        }
    }

    private static double value(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? (\\S+)$").matcher(metrics);
        assertTrue(m.find(), name + " missing");
        return Double.parseDouble(m.group(1));
    }

}
