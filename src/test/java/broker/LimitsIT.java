package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** max-packet-size for every MQTT version, and max-connections over all listeners. */
class LimitsIT {

    @TempDir
    Path data;

    @Test
    void a_packet_over_the_maximum_size_disconnects_an_mqtt_311_publisher() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data)
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.max-packet-size", "2048").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/#")) {
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            assertThrows(MqttException.class, () -> Clients.publish(publisher, "ansible/big", "x".repeat(4096), 1, false));
            assertFalse(publisher.isConnected());
            Clients.close(publisher);

            MqttClient again = Clients.publisher(app.wsUrl());
            Clients.publish(again, "ansible/small", "x".repeat(1024), 1, false);
            Clients.close(again);
            assertEquals("ansible/small", subscriber.next(Duration.ofSeconds(10)).topic(), "the big one never arrives");
        }
    }

    @Test
    void max_connections_holds_for_all_listeners_together_and_a_client_gets_in_again_when_one_leaves() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data)
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.max-connections", "3").start();
             LogCapture log = LogCapture.open()) {
            // the routes' own client is connected already and not counted: three clients fit, over two listeners
            List<MqttClient> clients = new ArrayList<>();
            clients.add(Clients.connect(app.tcpUrl(), null, null));
            clients.add(Clients.connect(app.wsUrl(), null, null));
            clients.add(Clients.connect(app.tcpUrl(), null, null));
            for (int i = 0; i < 3; i++) {
                assertThrows(MqttException.class, () -> Clients.connect(app.tcpUrl(), null, null));
                assertThrows(MqttException.class, () -> Clients.connect(app.wsUrl(), null, null));
            }
            assertTrue(clients.stream().allMatch(MqttClient::isConnected), "the clients inside were not disturbed");
            long refused = app.broker().statistics().connectionsRefused();
            assertTrue(refused >= 6, refused + " refused (Paho tries MQTT 3.1 after 3.1.1 on some failures)");
            String metrics = app.http("/observe/metrics").body();
            double counted = 0;
            for (String listener : List.of("mqtt", "mqtt-ws")) {
                java.util.regex.Matcher line = java.util.regex.Pattern.compile("firehose_broker_connections_refused_total\\{listener=\""
                        + listener + "\",reason=\"max-connections\"} ([0-9.]+)").matcher(metrics);
                assertTrue(line.find(), metrics);
                counted += Double.parseDouble(line.group(1));
            }
            assertEquals(refused, (long) counted, "the metric counts them on each listener");
            List<String> refusals = log.problems().stream().map(LogCapture.Line::text).toList();
            assertEquals(1, refusals.size(), "one log line for all the refusals: " + refusals);
            assertTrue(refusals.get(0).contains("limit of 3 connections"), refusals.get(0));

            Clients.close(clients.remove(0));
            Await.until(Duration.ofSeconds(10), () -> {
                try {
                    clients.add(Clients.connect(app.wsUrl(), null, null));
                    return true;
                } catch (MqttException e) {
                    return false;
                }
            }, () -> "no room after a client left");
            assertThrows(MqttException.class, () -> Clients.connect(app.tcpUrl(), null, null));
            clients.forEach(Clients::close);
        }
    }
}
