package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.Mqtt5Callbacks;
import firehose.RawMqtt;
import org.apache.activemq.artemis.api.core.ActiveMQSecurityException;
import org.apache.activemq.artemis.api.core.client.ActiveMQClient;
import org.apache.activemq.artemis.api.core.client.ClientSessionFactory;
import org.apache.activemq.artemis.api.core.client.ServerLocator;
import org.apache.logging.log4j.Level;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A publisher's MQTT 5 client that goes silent (the socket stays open, nothing more comes) with a will: at its
 * keep-alive's expiry the broker sends the will, with its properties, and the account may connect again at once.
 * Artemis authenticates a connection again when its cached answer (10 s) has expired and the connection publishes or
 * its will is sent, so the client here stays alive for 11 s before it goes silent: BrokerSecurity refused that second
 * authentication of every MQTT 5 connection (by a protocol name Artemis changes at CONNECT), with an ERROR for the
 * will, and Artemis cached the refusal for the account. The cluster port must still refuse clients, without that
 * refusal reaching the MQTT listeners through the same cache.
 */
class WillOnSilenceIT {

    @TempDir
    Path data;

    @Test
    void a_silent_mqtt5_publishers_will_is_delivered_with_its_properties_and_its_account_connects_again() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            BlockingQueue<Received> received = new LinkedBlockingQueue<>();
            MqttAsyncClient subscriber = v5(app, Clients.id("will-sub"), null, received);
            subscriber.subscribe(new MqttSubscription("ansible/will/#", 1)).waitForCompletion(10_000);

            try (Socket silent = new Socket()) {
                silent.connect(new InetSocketAddress("127.0.0.1", app.port("mqtt")), 5000);
                silent.setSoTimeout(20_000);
                silent.getOutputStream().write(connectWithWill(Clients.id("silent"), 2, "ansible/will/silent", "gone quiet"));
                DataInputStream in = new DataInputStream(silent.getInputStream());
                assertEquals(0x20, in.readUnsignedByte(), "CONNACK");
                byte[] connack = new byte[in.readUnsignedByte()];
                in.readFully(connack);
                assertEquals(0, connack[1], "the publisher is accepted");
                // alive past Artemis' authentication cache (10 s): what it does from then on is authorised afresh
                long alive = System.nanoTime() + TimeUnit.SECONDS.toNanos(11);
                for (int ping = 0; ping < 30 && System.nanoTime() < alive; ping++) {
                    Thread.sleep(1_000); // the client's pace, one PINGREQ a second, not a wait for the broker
                    silent.getOutputStream().write(new byte[] {(byte) 0xC0, 0});
                    assertEquals(0xD0, in.readUnsignedByte(), "PINGRESP");
                    assertEquals(0, in.readUnsignedByte());
                }
                // a publish now is authorised afresh too
                byte[] publish = RawMqtt.concat(string("ansible/will/live"), new byte[] {0, 1, 0}, "still here".getBytes(StandardCharsets.UTF_8));
                silent.getOutputStream().write(RawMqtt.concat(new byte[] {0x32, (byte) publish.length}, publish));
                assertEquals(0x40, in.readUnsignedByte(), "PUBACK");
                byte[] puback = new byte[in.readUnsignedByte()];
                in.readFully(puback);
                assertTrue(puback.length == 2 || puback[2] == 0, "PUBACK success");
                Received live = next(received, "the publisher's message, 11 s after it connected");
                assertEquals("ansible/will/live", live.topic());
                // silent from now on: no PINGREQ, and nothing read but the broker closing the connection
                RawMqtt.assertClosed(silent);
            }

            Received will = next(received, "the will of the silent publisher");
            assertEquals("ansible/will/silent", will.topic());
            assertEquals("gone quiet", new String(will.message().getPayload(), StandardCharsets.UTF_8));
            List<UserProperty> properties = will.message().getProperties().getUserProperties();
            assertEquals(List.of(new UserProperty("host", "deploy-1"), new UserProperty("reason", "silence")), properties);

            // the account is not locked out: its clients connect again at once, MQTT 5 and 3.1.1
            MqttAsyncClient again = v5(app, Clients.id("again"), FirehoseApp.PUBLISHER, new LinkedBlockingQueue<>());
            again.publish("ansible/will/back", new MqttMessage("back".getBytes(StandardCharsets.UTF_8))).waitForCompletion(10_000);
            assertEquals("back", new String(next(received, "a message of the reconnected account").message().getPayload(),
                    StandardCharsets.UTF_8));
            again.disconnect().waitForCompletion(10_000);
            again.close();
            MqttClient v3 = Clients.publisher(app.tcpUrl());
            Clients.close(v3);
            subscriber.disconnect().waitForCompletion(10_000);
            subscriber.close();

            List<LogCapture.Line> bad = log.lines().stream()
                    .filter(l -> l.level().isMoreSpecificThan(Level.ERROR) || l.text().contains("cluster port")
                            || l.text().contains("AMQ834007") || l.text().contains("AMQ229031"))
                    .toList();
            assertTrue(bad.isEmpty(), "no refusal, no ERROR: " + bad);
        }
    }

    @Test
    void the_cluster_port_still_refuses_a_publisher_account_and_anonymous_clients() throws Exception {
        int clusterPort = FirehoseApp.freePort();
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                     .set("firehose.cluster.port", String.valueOf(clusterPort))
                     .set("firehose.cluster.password", "cluster-secret-5531").start();
             ServerLocator locator = ActiveMQClient.createServerLocator("tcp://127.0.0.1:" + clusterPort)) {
            locator.setReconnectAttempts(0).setInitialConnectAttempts(1);
            try (ClientSessionFactory factory = locator.createSessionFactory()) {
                for (String user : new String[] {FirehoseApp.PUBLISHER, null}) {
                    String password = user == null ? null : FirehoseApp.PUBLISHER_PASSWORD;
                    assertThrows(ActiveMQSecurityException.class,
                            () -> factory.createSession(user, password, false, true, true, false, 1).close(),
                            "a core session as " + user + " on the cluster port");
                }
            }
            assertEquals(2, log.lines().stream().filter(l -> l.text().contains("Refused a CORE connection")
                    && l.text().contains("on the cluster port")).count(), log.lines().toString());
            // and its MQTT listeners serve the same account and anonymous clients at once: Artemis caches an answer by
            // user name and password, and a refusal cached there for the cluster port's sake refused them for 10 s
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.close(publisher);
            Clients.close(Clients.connect(app.tcpUrl(), null, null));
        }
    }

    record Received(String topic, MqttMessage message) {
    }

    /** The next message received; fails if none comes within 20 s. */
    private static Received next(BlockingQueue<Received> received, String what) throws InterruptedException {
        Received next = received.poll(20, TimeUnit.SECONDS);
        assertNotNull(next, what + " did not arrive within 20 s");
        return next;
    }

    /** A connected Paho MQTT 5 client (the publisher's password when {@code user} is given) queuing what it receives. */
    private static MqttAsyncClient v5(FirehoseApp app, String id, String user, BlockingQueue<Received> received) throws MqttException {
        MqttAsyncClient client = new MqttAsyncClient(app.tcpUrl(), id, null);
        client.setCallback(new Mqtt5Callbacks() {
            @Override
            public void messageArrived(String topic, MqttMessage message) {
                received.add(new Received(topic, message));
            }
        });
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setAutomaticReconnect(false);
        options.setConnectionTimeout(10);
        if (user != null) {
            options.setUserName(user);
            options.setPassword(FirehoseApp.PUBLISHER_PASSWORD.getBytes(StandardCharsets.UTF_8));
        }
        client.connect(options).waitForCompletion(20_000);
        return client;
    }

    /**
     * An MQTT 5 CONNECT of the publisher account (clean start) with a QoS 1 will: Will Delay Interval 0 and two User
     * Properties.
     */
    static byte[] connectWithWill(String clientId, int keepAlive, String willTopic, String willPayload) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 5});
        body.write(0x80 | 0x40 | 0x08 | 0x04 | 0x02); // user name, password, will QoS 1, will, clean start
        body.write(keepAlive >> 8);
        body.write(keepAlive);
        body.write(0); // no CONNECT properties
        body.writeBytes(string(clientId));
        ByteArrayOutputStream will = new ByteArrayOutputStream();
        will.writeBytes(new byte[] {0x18, 0, 0, 0, 0}); // Will Delay Interval 0
        will.write(0x26);
        will.writeBytes(string("host"));
        will.writeBytes(string("deploy-1"));
        will.write(0x26);
        will.writeBytes(string("reason"));
        will.writeBytes(string("silence"));
        body.write(will.size());
        body.writeBytes(will.toByteArray());
        body.writeBytes(string(willTopic));
        body.writeBytes(string(willPayload));
        body.writeBytes(string(FirehoseApp.PUBLISHER));
        body.writeBytes(string(FirehoseApp.PUBLISHER_PASSWORD));
        assertTrue(body.size() >= 128 && body.size() < 16_384, "a remaining length of two bytes");
        byte[] bytes = body.toByteArray();
        return RawMqtt.concat(new byte[] {0x10, (byte) (0x80 | bytes.length & 0x7f), (byte) (bytes.length >> 7)}, bytes);
    }

    private static byte[] string(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        return RawMqtt.concat(new byte[] {(byte) (utf8.length >> 8), (byte) utf8.length}, utf8);
    }
}
