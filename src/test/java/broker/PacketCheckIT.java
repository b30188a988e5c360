package broker;

import broker.guard.Refusals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Topics, filters and client ids must be well-formed UTF-8 without U+0000 (MQTT 3.1.1 §1.5.3, MQTT 5 §1.5.4): the
 * connection that sends one is closed, nothing of it is delivered, and the log gets one line for all of them.
 */
class PacketCheckIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path data;

    @Test
    void a_malformed_topic_filter_or_client_id_closes_its_connection_and_nothing_is_delivered() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber everything = Subscriber.on(app.tcpUrl(), "#")) {
            int port = app.port("mqtt");
            // a NUL in the topic; invalid UTF-8 (0xFF 0xFE); a lone surrogate encoded in 3 bytes (ED A0 80)
            for (byte[] topic : List.of(RawMqtt.concat(bytes("ansible/a"), new byte[] {0}, bytes("b")),
                    RawMqtt.concat(bytes("ansible/"), new byte[] {(byte) 0xff, (byte) 0xfe}),
                    RawMqtt.concat(bytes("ansible/"), new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}))) {
                try (Socket publisher = RawMqtt.publisher(port, Clients.id("bad"), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)) {
                    publisher.getOutputStream().write(RawMqtt.publish(topic, bytes("forged")));
                    RawMqtt.assertClosed(publisher);
                }
            }
            try (Socket subscriber = RawMqtt.subscriber(port, Clients.id("sub"), 0, "ansible/ok", 0)) {
                subscriber.getOutputStream().write(RawMqtt.subscribe(RawMqtt.concat(bytes("ansible/"), new byte[] {0})));
                RawMqtt.assertClosed(subscriber);
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                socket.setSoTimeout(5000);
                socket.getOutputStream().write(RawMqtt.connect(new byte[] {'i', 'd', (byte) 0xc3}));
                RawMqtt.assertClosed(socket); // no CONNACK: closed
            }

            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                socket.setSoTimeout(5000);
                // CONNECT with a will (flags: clean session + will flag) whose topic holds a NUL
                byte[] body = RawMqtt.concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 0x06, 0, 0}, lengthPrefixed(bytes("willer")),
                        lengthPrefixed(RawMqtt.concat(bytes("ansible/w"), new byte[] {0})), lengthPrefixed(bytes("gone")));
                socket.getOutputStream().write(RawMqtt.concat(new byte[] {0x10, (byte) body.length}, body));
                RawMqtt.assertClosed(socket);
            }

            // nothing forged came through: the next message is the good one published after them
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/ok", "good", 1, false);
            Subscriber.Received next = everything.next(WAIT);
            assertEquals("ansible/ok", next.topic());
            assertEquals("good", next.payload());
            assertNull(everything.poll(Duration.ofMillis(300)));
            Clients.close(publisher);

            assertEquals(6, app.broker().refused("mqtt", Refusals.INVALID_STRING));
            assertTrue(app.http("/observe/metrics").body().contains("firehose_broker_connections_refused_total{listener=\"mqtt\",reason=\"invalid-string\"} 6.0"));
            List<LogCapture.Line> problems = log.problems();
            assertEquals(1, problems.size(), "one line for the six: " + problems);
            assertTrue(problems.get(0).text().contains("not well-formed UTF-8 or holds U+0000"), problems.get(0).text());
        }
    }

    @Test
    void a_client_id_held_by_another_users_connection_is_refused_and_its_holder_keeps_it() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber everything = Subscriber.on(app.tcpUrl(), "ansible/#")) {
            String url = app.tcpUrl();
            MqttClient publisher = new MqttClient(url, "ansible-deploy", null);
            CountDownLatch publisherLost = new CountDownLatch(1);
            publisher.setCallback(new LostCallback(publisherLost));
            publisher.connect(Clients.options(url, FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD));

            // anyone knowing a publisher's client id could cut it off, again and again, by taking the id over
            MqttClient thief = new MqttClient(url, "ansible-deploy", null);
            MqttConnectOptions anonymous = Clients.options(url, null, null);
            anonymous.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            MqttException refused = assertThrows(MqttException.class, () -> thief.connect(anonymous));
            assertEquals(MqttException.REASON_CODE_INVALID_CLIENT_ID, refused.getReasonCode());
            thief.close(true);
            var v5 = new org.eclipse.paho.mqttv5.client.MqttAsyncClient(url, "ansible-deploy", null);
            var token = v5.connect(new org.eclipse.paho.mqttv5.client.MqttConnectionOptions());
            var failure = assertThrows(org.eclipse.paho.mqttv5.common.MqttException.class, () -> token.waitForCompletion(10_000));
            assertEquals(0x85, failure.getReasonCode(), "MQTT 5: client identifier not valid");
            v5.close(true);

            assertTrue(publisher.isConnected(), "the publisher keeps its connection");
            Clients.publish(publisher, "ansible/still", "here", 1, false);
            assertEquals("here", everything.next(WAIT).payload());
            assertEquals(2, app.broker().refused("mqtt", Refusals.CLIENT_ID));
            List<LogCapture.Line> problems = log.problems();
            assertEquals(1, problems.size(), "one line for the two: " + problems);
            assertTrue(problems.get(0).text().contains("is another user's connection's"), problems.get(0).text());

            // the same user taking its own id over goes on as MQTT says: the old connection is closed
            MqttClient again = new MqttClient(url, "ansible-deploy", null);
            again.connect(Clients.options(url, FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD));
            assertTrue(publisherLost.await(10, TimeUnit.SECONDS), "the publisher's old connection was taken over");
            Clients.close(again);
            publisher.close(true);
            // and so do anonymous clients, each other's
            MqttClient first = new MqttClient(url, "anonymous-id", null);
            CountDownLatch firstLost = new CountDownLatch(1);
            first.setCallback(new LostCallback(firstLost));
            first.connect(Clients.options(url, null, null));
            MqttClient second = new MqttClient(url, "anonymous-id", null);
            second.connect(Clients.options(url, null, null));
            assertTrue(firstLost.await(10, TimeUnit.SECONDS), "an anonymous id taken over by another anonymous client");
            Clients.close(second);
            first.close(true);
            assertEquals(2, app.broker().refused("mqtt", Refusals.CLIENT_ID));
        }
    }

    /** Counts a connection lost down. */
    private record LostCallback(CountDownLatch lost) implements org.eclipse.paho.client.mqttv3.MqttCallback {
        @Override
        public void connectionLost(Throwable cause) {
            lost.countDown();
        }

        @Override
        public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message) {
        }

        @Override
        public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
        }
    }

    @Test
    void a_client_id_with_a_quote_is_refused_with_a_connack_and_one_line() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            for (int i = 0; i < 3; i++) {
                // Artemis wrote such an id into its filters: an ERROR and a stack trace at a No Local SUBSCRIBE, and a
                // persistent session it could never clean, so that its client could not connect cleanly again
                MqttClient quoted = new MqttClient(app.tcpUrl(), "it's-" + i, null);
                var options = Clients.options(app.tcpUrl(), null, null);
                options.setCleanSession(false);
                options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1); // by default Paho tries 3.1 after a refusal
                MqttException refused = assertThrows(MqttException.class, () -> quoted.connect(options));
                assertEquals(MqttException.REASON_CODE_INVALID_CLIENT_ID, refused.getReasonCode());
                quoted.close(true);
            }
            var v5 = new org.eclipse.paho.mqttv5.client.MqttAsyncClient(app.tcpUrl(), "it's", null);
            var token = v5.connect(new org.eclipse.paho.mqttv5.client.MqttConnectionOptions());
            var failure = assertThrows(org.eclipse.paho.mqttv5.common.MqttException.class, () -> token.waitForCompletion(10_000));
            assertEquals(0x85, failure.getReasonCode(), "MQTT 5: client identifier not valid");
            v5.close(true);

            assertEquals(4, app.broker().refused("mqtt", Refusals.CLIENT_ID));
            assertTrue(app.http("/observe/metrics").body().contains("firehose_broker_connections_refused_total{listener=\"mqtt\",reason=\"client-id\"} 4.0"));
            List<LogCapture.Line> problems = log.problems();
            assertEquals(1, problems.size(), "one line for the four: " + problems);
            assertTrue(problems.get(0).text().contains("a client id with a '"), problems.get(0).text());
            try (Subscriber plain = Subscriber.connect(app.tcpUrl(), "its", false)) {
                plain.subscribe("ansible/#", 1); // an id without one connects as ever
            }
        }
    }

    @Test
    void a_filter_against_the_wildcard_rules_gets_a_failure_code_and_the_others_subscribe() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            int port = app.port("mqtt");
            for (String filter : List.of("a/#/b", "#/a", "a+b", "")) {
                assertEquals(List.of(0x80), subAck(port, 4, List.of(filter)), "SUBACK for '" + filter + "'");
            }
            // MQTT 5: reason code 0x8F (topic filter invalid)
            assertEquals(List.of(0x8F), subAck(port, 5, List.of("a/#/b")));
            // a packet with a valid and an invalid filter: the valid one is granted and works
            try (Socket socket = connected(port, 4)) {
                assertEquals(List.of(0x00, 0x80, 0x00), subscribe(socket, 4, List.of("ansible/ok", "ansible/#/x", "zuul/+")));
                MqttClient publisher = Clients.publisher(app.tcpUrl());
                Clients.publish(publisher, "ansible/ok", "granted", 0, false);
                Clients.close(publisher);
                byte[] header = new byte[2];
                new java.io.DataInputStream(socket.getInputStream()).readFully(header);
                assertEquals(0x30, header[0] & 0xf0, "a PUBLISH for the granted filter");
            }
            assertTrue(log.problems().isEmpty(), "no ERROR or WARN: " + log.problems());
        }
    }

    @Test
    void bytes_that_are_no_mqtt_packet_cost_one_log_line_a_minute_and_no_stack_trace() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber everything = Subscriber.on(app.tcpUrl(), "#")) {
            java.util.Random random = new java.util.Random(42);
            int count = 0;
            for (int i = 0; i < 40; i++) {
                byte[] garbage = new byte[8 + random.nextInt(64)];
                random.nextBytes(garbage);
                garbage[0] = (byte) (0x40 | garbage[0] & 0x0f); // not a CONNECT: no protocol can claim it
                count += sendAndAwaitClose(app.port("mqtt"), garbage);
                // a broken remaining length: five continuation bytes
                count += sendAndAwaitClose(app.port("mqtt"), new byte[] {0x10, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0});
            }
            assertEquals(80, count, "connections closed by the broker");
            assertEquals(80, app.broker().refused("mqtt", "malformed-packet"));
            assertTrue(app.http("/observe/metrics").body()
                    .contains("firehose_broker_connections_refused_total{listener=\"mqtt\",reason=\"malformed-packet\"} 80.0"));
            List<LogCapture.Line> problems = log.problems();
            assertEquals(1, problems.size(), "one line for all: " + problems);
            assertTrue(problems.get(0).text().contains("on mqtt: not an MQTT packet"), problems.get(0).text());
            assertTrue(log.lines().stream().noneMatch(l -> l.text().contains(" | ")), "no exception in any line");
            // the broker still serves
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/after", "fine", 1, false);
            assertEquals("fine", everything.next(WAIT).payload());
            Clients.close(publisher);
        }
    }

    /** 1 if the broker closed the connection after {@code bytes}, else 0. */
    private static int sendAndAwaitClose(int port, byte[] bytes) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(5000);
            socket.getOutputStream().write(bytes);
            try {
                RawMqtt.assertClosed(socket);
                return 1;
            } catch (AssertionError open) {
                return 0;
            }
        }
    }

    @Test
    void a_will_its_user_may_not_publish_is_dropped_with_one_line_and_the_client_connects() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber everything = Subscriber.on(app.tcpUrl(), "#")) {
            int port = app.port("mqtt");
            for (int i = 0; i < 20; i++) {
                dropWithWill(port, Clients.id("anonymous"), null, "ansible/will", "anonymous " + i);
            }
            dropWithWill(port, Clients.id("outside"), FirehoseApp.PUBLISHER, "zuul/will", "outside its topics");
            dropWithWill(port, Clients.id("inside"), FirehoseApp.PUBLISHER, "ansible/will", "its own");

            Subscriber.Received will = everything.next(WAIT);
            assertEquals("ansible/will", will.topic());
            assertEquals("its own", will.payload(), "a will its user may publish is sent as ever");
            assertNull(everything.poll(Duration.ofMillis(500)), "and no other");
            assertEquals(21, app.broker().willsDropped());
            assertTrue(app.http("/observe/metrics").body().contains("firehose_broker_wills_dropped_total 21.0"));
            List<LogCapture.Line> problems = log.problems();
            assertEquals(1, problems.size(), "one line for the 21, no ERROR per will: " + problems);
            assertTrue(problems.get(0).text().contains("may not publish to 'ansible/will'"), problems.get(0).text());
        }
    }

    /** Connects with a will (QoS 0; with the publisher's password when {@code user} is given), then drops the socket. */
    private static void dropWithWill(int port, String clientId, String user, String willTopic, String willMessage) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(5000);
            byte[] credentials = user == null ? new byte[0]
                    : RawMqtt.concat(lengthPrefixed(bytes(user)), lengthPrefixed(bytes(FirehoseApp.PUBLISHER_PASSWORD)));
            byte flags = (byte) (user == null ? 0x06 : 0xC6);
            byte[] body = RawMqtt.concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, flags, 0, 0}, lengthPrefixed(bytes(clientId)),
                    lengthPrefixed(bytes(willTopic)), lengthPrefixed(bytes(willMessage)), credentials);
            socket.getOutputStream().write(RawMqtt.concat(new byte[] {0x10, (byte) body.length}, body));
            byte[] connack = new java.io.DataInputStream(socket.getInputStream()).readNBytes(4);
            assertEquals(0x20, connack[0], "CONNACK");
            assertEquals(0, connack[3], "accepted");
        } // closed without DISCONNECT: the will is due
    }

    private static List<Integer> subAck(int port, int level, List<String> filters) throws IOException {
        try (Socket socket = connected(port, level)) {
            return subscribe(socket, level, filters);
        }
    }

    /** A socket after CONNECT and CONNACK at protocol level 4 (3.1.1) or 5. */
    private static Socket connected(int port, int level) throws IOException {
        return RawMqtt.connected(port, level, Clients.id("f"), true);
    }

    /** Subscribes (packet id 7, QoS 0) and returns the SUBACK's codes. */
    private static List<Integer> subscribe(Socket socket, int level, List<String> filters) throws IOException {
        return RawMqtt.subscribe(socket, level, 7, filters);
    }

    /** The broker closed the connection: the stream ends (anything it sent before, e.g. a SUBACK, is skipped). */
    private static byte[] lengthPrefixed(byte[] text) {
        return RawMqtt.concat(new byte[] {(byte) (text.length >> 8), (byte) text.length}, text);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

}
