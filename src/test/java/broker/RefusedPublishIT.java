package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import broker.guard.PublishCheck;
import firehose.Await;
import firehose.Clients;
import firehose.ExternalTool;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A refused PUBLISH (anonymous, outside the account's filters, a {@code $} topic) is answered as MQTT clients expect,
 * is delivered to no one, and leaves the connection open: a misconfigured publisher never hangs or loops.
 */
class RefusedPublishIT {

    private static final String PYTHON = "/usr/bin/python3";
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long WAIT_MILLIS = 10_000;

    @TempDir
    static Path data;
    static FirehoseApp app;

    @BeforeAll
    static void start() {
        app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
    }

    @AfterAll
    static void stop() {
        if (app != null) {
            app.close();
        }
    }

    /** The next message {@code subscriber} gets is {@code marker}, published now by the account: nothing refused came before. */
    private static void onlyTheMarkerArrives(Subscriber subscriber, String marker) throws Exception {
        Clients.publishOnce(app.tcpUrl(), marker, "marker");
        Subscriber.Received next = subscriber.next(WAIT);
        assertEquals(marker, next.topic(), "a refused publish was delivered: " + next);
    }

    /** Ansible's mqtt module: python paho-mqtt's publish.single at QoS 1 (Debian's python3-paho-mqtt). */
    @ParameterizedTest
    @CsvSource({"tcp,anonymous", "tcp,outside", "websockets,anonymous", "websockets,outside"})
    void python_publish_single_returns_and_delivers_nothing(String transport, String who) throws Exception {
        ExternalTool.require(PYTHON, "-c", "import paho.mqtt.publish");
        int port = transport.equals("tcp") ? app.port("mqtt") : app.port("ws");
        String topic = who.equals("anonymous") ? "ansible/python/forged" : "zuul/python/outside";
        String auth = who.equals("anonymous") ? "None"
                : "{'username': '" + FirehoseApp.PUBLISHER + "', 'password': '" + FirehoseApp.PUBLISHER_PASSWORD + "'}";
        String code = String.join("\n",
                "import sys, paho.mqtt.publish as publish",
                "publish.single(sys.argv[1], 'refused', qos=1, hostname='127.0.0.1', port=int(sys.argv[2]),",
                "               auth=" + auth + ", transport=sys.argv[3])",
                "print('returned')");
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "#")) {
            ExternalTool.Result result = ExternalTool.run(Duration.ofSeconds(15), PYTHON, "-c", code, topic, String.valueOf(port), transport);
            assertEquals(0, result.exitCode(), result.out() + result.err());
            assertEquals("returned", result.out().strip(), result.err());
            onlyTheMarkerArrives(subscriber, "ansible/python/marker-" + transport + "-" + who);
        }
    }

    /** Paho Java v3 at MQTT 3.1 and 3.1.1: the usual PUBACK / PUBREC+PUBCOMP, the connection stays open. */
    @ParameterizedTest
    @CsvSource({"3,1", "3,2", "4,1", "4,2"})
    void mqtt3_refused_publish_is_acknowledged_and_the_connection_stays_open(int level, int qos) throws Exception {
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "#")) {
            MqttClient anonymous = v3(level, null);
            Clients.publish(anonymous, "ansible/v3/forged", "forged", qos, false); // returns: acknowledged
            Clients.publish(anonymous, "ansible/v3/forged-again", "forged", qos, false);
            assertTrue(anonymous.isConnected(), "an anonymous publisher refused is not disconnected");
            Clients.close(anonymous);

            MqttClient account = v3(level, FirehoseApp.PUBLISHER);
            Clients.publish(account, "zuul/v3/outside", "outside", qos, false);
            Clients.publish(account, "$SYS/v3/forged", "sys", qos, false);
            assertTrue(account.isConnected(), "an account refused is not disconnected");
            String inside = "ansible/v3/inside-" + level + "-" + qos;
            Clients.publish(account, inside, "inside", qos, false); // the same connection publishes on
            Clients.close(account);
            assertEquals(inside, subscriber.next(WAIT).topic(), "the refused publishes must never arrive");
        }
    }

    /**
     * Paho Java v5: PUBACK / PUBREC with 0x87, not authorized; the connection stays open. (Paho v5 drops its own
     * connection after a PUBREC with a failure code, "halting QoS 2 flow": at QoS 2 the broker's side is checked with raw
     * packets, {@link #refused_qos2_publish_completes_with_pubrel_pubcomp_and_the_connection_goes_on}.)
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void mqtt5_refused_publish_gets_not_authorized_and_the_connection_stays_open(int qos) throws Exception {
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "#")) {
            MqttAsyncClient anonymous = v5(null);
            assertEquals(0x87, reasonCode(anonymous, "ansible/v5/forged", qos));
            if (qos == 1) {
                assertEquals(0x87, reasonCode(anonymous, "ansible/v5/forged-again", qos));
                assertTrue(anonymous.isConnected(), "an anonymous publisher refused is not disconnected");
                anonymous.disconnect().waitForCompletion(WAIT_MILLIS);
            }
            anonymous.close(true);
            if (qos == 2) {
                MqttAsyncClient account = v5(FirehoseApp.PUBLISHER);
                assertEquals(0x87, reasonCode(account, "zuul/v5/outside", qos));
                account.close(true);
                account = v5(FirehoseApp.PUBLISHER);
                assertEquals(0x87, reasonCode(account, "$SYS/v5/forged", qos));
                account.close(true);
                onlyTheMarkerArrives(subscriber, "ansible/v5/marker-qos2");
                return;
            }

            MqttAsyncClient account = v5(FirehoseApp.PUBLISHER);
            assertEquals(0x87, reasonCode(account, "zuul/v5/outside", qos));
            assertEquals(0x87, reasonCode(account, "$SYS/v5/forged", qos));
            assertTrue(account.isConnected(), "an account refused is not disconnected");
            String inside = "ansible/v5/inside-" + qos;
            assertTrue(reasonCode(account, inside, qos) < 0x80, "the same connection publishes on");
            account.disconnect().waitForCompletion(WAIT_MILLIS);
            account.close();
            assertEquals(inside, subscriber.next(WAIT).topic(), "the refused publishes must never arrive");
        }
    }

    /**
     * Raw packets, MQTT 3.1.1 and 5: a refused QoS 2 PUBLISH gets PUBREC (5: 0x87), its PUBREL gets PUBCOMP from the
     * broker, and the same connection then publishes with the same packet id, delivered.
     */
    @ParameterizedTest
    @ValueSource(ints = {4, 5})
    void refused_qos2_publish_completes_with_pubrel_pubcomp_and_the_connection_goes_on(int level) throws Exception {
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "#");
             Socket socket = RawMqtt.connected(app.port("mqtt"), level, Clients.id("raw"), true, FirehoseApp.PUBLISHER,
                     FirehoseApp.PUBLISHER_PASSWORD)) {
            OutputStream out = socket.getOutputStream();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            byte[] none = level == 5 ? new byte[] {0} : new byte[0];
            out.write(RawMqtt.packet(0x34, RawMqtt.concat(RawMqtt.string("zuul/raw".getBytes(StandardCharsets.UTF_8)),
                    new byte[] {0, 7}, none, "x".getBytes(StandardCharsets.UTF_8))));
            byte[] pubrec = read(in);
            assertEquals(0x50, pubrec[0] & 0xFF, "PUBREC");
            assertEquals(7, pubrec[2] << 8 | pubrec[3], "its packet id");
            if (level == 5) {
                assertTrue(pubrec.length > 4 && (pubrec[4] & 0xFF) == 0x87, "reason 0x87, not authorized");
            } else {
                assertEquals(4, pubrec.length, "MQTT 3.1.1: the plain PUBREC");
            }
            out.write(RawMqtt.packet(0x62, new byte[] {0, 7}));
            byte[] pubcomp = read(in);
            assertEquals(0x70, pubcomp[0] & 0xFF, "PUBCOMP");
            assertEquals(7, pubcomp[2] << 8 | pubcomp[3]);

            String inside = "ansible/raw/inside-" + level;
            out.write(RawMqtt.packet(0x34, RawMqtt.concat(RawMqtt.string(inside.getBytes(StandardCharsets.UTF_8)),
                    new byte[] {0, 7}, none, "y".getBytes(StandardCharsets.UTF_8))));
            pubrec = read(in);
            assertEquals(0x50, pubrec[0] & 0xFF, "PUBREC");
            assertTrue(pubrec.length == 4 || pubrec[4] == 0, "accepted");
            out.write(RawMqtt.packet(0x62, new byte[] {0, 7}));
            assertEquals(0x70, read(in)[0] & 0xFF, "PUBCOMP");
            assertEquals(inside, subscriber.next(WAIT).topic(), "the refused publish must never arrive");
        }
    }

    /**
     * A client that floods refused QoS 1 publishes and never reads its PUBACKs fills no queue: once the acknowledgements
     * cannot be written, the broker stops reading it (TCP holds the client's writes back), and an allowed publisher on
     * another connection goes on meanwhile.
     */
    @Test
    void a_refused_flood_whose_client_never_reads_its_acknowledgements_is_paused() throws Exception {
        AtomicLong written = new AtomicLong();
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/paced/#");
             Socket flood = RawMqtt.connected(app.port("mqtt"), 4, Clients.id("flood"), true)) {
            flood.setSendBufferSize(64 * 1024);
            byte[] packet = RawMqtt.packet(0x32, RawMqtt.concat(RawMqtt.string("ansible/paced/forged".getBytes(StandardCharsets.UTF_8)),
                    new byte[] {0, 1}, new byte[1024]));
            Thread writer = new Thread(() -> {
                try {
                    OutputStream out = flood.getOutputStream();
                    for (int i = 0; i < 1_000_000; i++) { // ~1 GiB at most, never reached when the broker pauses
                        out.write(packet);
                        written.addAndGet(packet.length);
                    }
                } catch (IOException closed) {
                    // the socket closed at the test's end, while blocked in write
                }
            }, "refused-flood");
            writer.setDaemon(true);
            writer.start();
            // written stops growing: the broker no longer reads the connection (its acknowledgements are not read)
            long[] last = {-1};
            Await.until(Duration.ofSeconds(30), () -> {
                long now = written.get();
                boolean still = now == last[0] && now > 0;
                last[0] = now;
                LockSupport.parkNanos(Duration.ofMillis(500).toNanos());
                return still;
            }, () -> "the flood was never paused: " + written.get() + " bytes written");
            assertTrue(writer.isAlive(), "the writer is held back, not failed");

            MqttClient account = Clients.publisher(app.tcpUrl());
            Clients.publish(account, "ansible/paced/allowed", "ok", 1, false);
            Clients.close(account);
            assertEquals("ansible/paced/allowed", subscriber.next(WAIT).topic(), "the refused flood delivered nothing, the bus goes on");
        }
    }

    /** One packet: its first byte, then its Remaining Length's bytes' value re-encoded as 1 byte, then its body. */
    private static byte[] read(DataInputStream in) throws Exception {
        int type = in.readUnsignedByte();
        int length = RawMqtt.remainingLength(in);
        byte[] packet = new byte[2 + length];
        packet[0] = (byte) type;
        packet[1] = (byte) length;
        in.readFully(packet, 2, length);
        return packet;
    }

    @Test
    void mqtt5_refused_qos0_leaves_the_connection_open() throws Exception {
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "#")) {
            MqttAsyncClient account = v5(FirehoseApp.PUBLISHER);
            reasonCode(account, "zuul/v5/qos0", 0);
            String inside = "ansible/v5/after-qos0";
            assertTrue(reasonCode(account, inside, 1) < 0x80);
            assertTrue(account.isConnected());
            account.disconnect().waitForCompletion(WAIT_MILLIS);
            account.close();
            assertEquals(inside, subscriber.next(WAIT).topic(), "the refused publish must never arrive");
        }
    }

    /** 1,000 refused publishes: each counted (the metric too), one log line, no stack trace. */
    @Test
    void a_thousand_refused_publishes_are_counted_and_logged_once(@TempDir Path own) throws Exception {
        try (LogCapture log = LogCapture.open()) {
            FirehoseApp fresh = FirehoseApp.builder(own).set("firehose.broker.sys-interval", "0").start(); // its own minute log
            try {
                MqttClient anonymous = Clients.connect(fresh.tcpUrl(), null, null);
                for (int i = 0; i < 1000; i++) {
                    Clients.publish(anonymous, "ansible/flood/" + i, "x", 1, false);
                }
                assertTrue(anonymous.isConnected());
                Clients.close(anonymous);
                MqttClient account = Clients.publisher(fresh.tcpUrl());
                Clients.publish(account, "zuul/flood", "x", 1, false);
                Clients.publish(account, "$SYS/flood", "x", 1, false);
                Clients.close(account);

                assertEquals(1000, fresh.broker().publishesRefused(PublishCheck.ANONYMOUS));
                assertEquals(1, fresh.broker().publishesRefused(PublishCheck.OUTSIDE_ACCOUNT));
                assertEquals(1, fresh.broker().publishesRefused(PublishCheck.SYS_TOPIC));
                String metrics = fresh.http("/observe/metrics").body();
                assertTrue(metrics.contains("firehose_broker_publishes_refused_total{reason=\"anonymous\"} 1000.0"), metrics);
                assertTrue(metrics.contains("firehose_broker_publishes_refused_total{reason=\"outside-account\"} 1.0"), metrics);
                assertTrue(metrics.contains("firehose_broker_publishes_refused_total{reason=\"sys-topic\"} 1.0"), metrics);
            } finally {
                fresh.close();
            }
            List<LogCapture.Line> refusals = log.lines().stream().filter(l -> l.text().contains("Refused a publish")).toList();
            assertEquals(1, refusals.size(), () -> "one line a minute: " + refusals);
            String line = refusals.get(0).text();
            assertTrue(line.contains("an anonymous client") && line.contains("'ansible/flood/0'") && line.contains("1 publishes refused"), line);
            List<LogCapture.Line> problems = log.problems().stream()
                    .filter(l -> l.text().contains(" | ") || l.text().toLowerCase().contains("publish")).toList();
            assertEquals(refusals, problems, "no other publish trouble, no stack trace");
        }
    }

    private static MqttClient v3(int level, String user) throws Exception {
        MqttClient client = new MqttClient(app.tcpUrl(), Clients.id("refused"), null);
        client.setTimeToWait(WAIT_MILLIS);
        MqttConnectOptions options = Clients.options(app.tcpUrl(), user, user == null ? null : FirehoseApp.PUBLISHER_PASSWORD);
        options.setMqttVersion(level == 3 ? MqttConnectOptions.MQTT_VERSION_3_1 : MqttConnectOptions.MQTT_VERSION_3_1_1);
        client.connect(options);
        return client;
    }

    private static MqttAsyncClient v5(String user) throws Exception {
        MqttAsyncClient client = new MqttAsyncClient(app.tcpUrl(), Clients.id("refused5"), null);
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setAutomaticReconnect(false);
        options.setConnectionTimeout(10);
        if (user != null) {
            options.setUserName(user);
            options.setPassword(FirehoseApp.PUBLISHER_PASSWORD.getBytes(StandardCharsets.UTF_8));
        }
        client.connect(options).waitForCompletion(WAIT_MILLIS);
        return client;
    }

    /** The publish's acknowledgement's reason code (0 at QoS 0). */
    private static int reasonCode(MqttAsyncClient client, String topic, int qos) throws Exception {
        MqttMessage message = new MqttMessage("x".getBytes(StandardCharsets.UTF_8));
        message.setQos(qos);
        IMqttToken token = client.publish(topic, message);
        try {
            token.waitForCompletion(WAIT_MILLIS);
        } catch (MqttException e) {
            return e.getReasonCode(); // Paho v5 reports a PUBREC's failure code so
        }
        assertTrue(token.isComplete(), "not acknowledged");
        int[] codes = token.getReasonCodes();
        if (qos > 0) {
            assertNotNull(codes, "no reason code");
        }
        return codes == null || codes.length == 0 ? 0 : codes[0];
    }
}
