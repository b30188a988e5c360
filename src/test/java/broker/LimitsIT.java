package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** max-packet-size for every MQTT version and over WebSocket too, and max-connections over all listeners. */
class LimitsIT {

    private static final int MAX_PACKET_SIZE = 2048;
    /** Bytes of a packet clearly over the limit, whichever way its size is counted (with the fixed header or not). */
    private static final int OVER = MAX_PACKET_SIZE + 64;
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path data;

    private FirehoseApp limited() {
        return FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.max-packet-size", String.valueOf(MAX_PACKET_SIZE)).start();
    }

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
    void an_mqtt_5_publish_over_the_maximum_size_disconnects_its_publisher_and_one_of_the_maximum_size_is_delivered() throws Exception {
        try (FirehoseApp app = limited(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/#")) {
            try (Socket publisher = RawMqtt.connected(app.port("mqtt"), 5, Clients.id("over5"), true, FirehoseApp.PUBLISHER,
                    FirehoseApp.PUBLISHER_PASSWORD)) {
                publisher.getOutputStream().write(RawMqtt.publishOfSize(5, "ansible/over", OVER));
                RawMqtt.assertClosed(publisher); // within the socket's 5 s read timeout
            }
            try (Socket publisher = RawMqtt.connected(app.port("mqtt"), 5, Clients.id("max5"), true, FirehoseApp.PUBLISHER,
                    FirehoseApp.PUBLISHER_PASSWORD)) {
                publisher.getOutputStream().write(RawMqtt.publishOfSize(5, "ansible/max", MAX_PACKET_SIZE));
                assertDeliveredAlone(subscriber, "ansible/max", MAX_PACKET_SIZE - 3 - 2 - "ansible/max".length() - 1); // header, topic, properties
            }
        }
    }

    @Test
    void a_packet_over_the_maximum_size_over_websocket_disconnects_its_publisher_and_one_of_the_maximum_size_is_delivered() throws Exception {
        // the WebSocket listener's frame limit is at least 64 KiB: here the MQTT decoder behind it must refuse
        try (FirehoseApp app = limited(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/#")) {
            try (Socket publisher = RawMqtt.webSocketConnected(app.port("ws"), Clients.id("over-ws"), FirehoseApp.PUBLISHER,
                    FirehoseApp.PUBLISHER_PASSWORD)) {
                publisher.getOutputStream().write(RawMqtt.webSocketFrame(RawMqtt.publishOfSize(4, "ansible/over", OVER)));
                RawMqtt.assertClosed(publisher); // within the socket's 5 s read timeout
            }
            try (Socket publisher = RawMqtt.webSocketConnected(app.port("ws"), Clients.id("max-ws"), FirehoseApp.PUBLISHER,
                    FirehoseApp.PUBLISHER_PASSWORD)) {
                publisher.getOutputStream().write(RawMqtt.webSocketFrame(RawMqtt.publishOfSize(4, "ansible/max", MAX_PACKET_SIZE)));
                assertDeliveredAlone(subscriber, "ansible/max", MAX_PACKET_SIZE - 3 - 2 - "ansible/max".length()); // header, topic
            }
        }
    }

    /** The subscriber's next message is the one to {@code topic}, its payload whole, and nothing else: the refused one is never delivered. */
    private static void assertDeliveredAlone(Subscriber subscriber, String topic, int payloadLength) throws InterruptedException {
        Subscriber.Received received = subscriber.next(WAIT);
        assertEquals(topic, received.topic(), "the packet over the limit never arrives");
        assertEquals("x".repeat(payloadLength), received.payload());
        assertNull(subscriber.poll(Duration.ofMillis(300)), "nothing else");
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
