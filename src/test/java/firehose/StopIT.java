package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.security.SecurityAuth;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerQueuePlugin;
import org.eclipse.paho.client.mqttv3.MqttClient;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Once the application is stopped, nothing of it keeps running: its own MQTT clients do not try to reconnect. */
class StopIT {

    @TempDir
    Path data;

    @Test
    void the_routes_clients_do_not_reconnect_after_the_application_stopped() throws Exception {
        FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "1").start();
        int port = app.port("mqtt");
        app.close();
        assertNobodyConnects(port);
    }

    @Test
    void clients_that_were_reconnecting_when_the_application_stopped_give_up() throws Exception {
        FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "1").start();
        int port = app.port("mqtt");
        app.broker().stop(); // the routes' clients lose the broker and start reconnecting
        try (ServerSocket listener = listen(port)) {
            listener.setSoTimeout(10_000); // Paho tries again after 1 s, then doubling
            try (Socket attempt = listener.accept()) {
                String who = whoConnected(attempt);
                assertTrue(who.startsWith("an MQTT CONNECT"), "a reconnecting client: " + who);
                // stopped while that client waits for its CONNACK (Paho then refuses to close it) and any other
                // waits in the backlog or for its next attempt
                app.close();
            }
        }
        assertNobodyConnects(port);
    }

    @Test
    void stopping_with_subscribers_still_connected_ends_their_sessions_quietly() throws Exception {
        // each clean session ends (its queue deleted) as its connection closes: before the journal stops, not racing it
        List<Socket> subscribers = new ArrayList<>();
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            ActiveMQServer server = app.broker().server();
            AtomicInteger beforeJournalStopped = new AtomicInteger();
            AtomicInteger afterJournalStopped = new AtomicInteger();
            String persistentId = Clients.id("kept");
            Subscriber persistent = Subscriber.connect(app.tcpUrl(), persistentId, false).subscribe("ansible/kept", 1);
            try {
                for (int i = 0; i < 300; i++) {
                    subscribers.add(RawMqtt.subscriber(app.port("mqtt"), "stay-" + i, 0, "ci/stay/" + i, 0));
                }
                server.registerBrokerPlugin(new ActiveMQServerQueuePlugin() {
                    @Override
                    public void afterDestroyQueue(Queue queue, SimpleString address, SecurityAuth session, boolean checkConsumerCount,
                            boolean removeConsumers, boolean autoDeleteAddress) {
                        (server.getStorageManager().isStarted() ? beforeJournalStopped : afterJournalStopped).incrementAndGet();
                    }
                });
            } finally {
                app.close();
            }
            for (Socket subscriber : subscribers) {
                RawMqtt.assertClosed(subscriber); // the broker closed it: its read ends within the socket's 5 s timeout
            }
            assertEquals(subscribers.size(), beforeJournalStopped.get(), "clean sessions whose queue went while the journal ran");
            assertEquals(0, afterJournalStopped.get(), "clean sessions whose queue went after the journal stopped");
            assertEquals(List.of(), log.problems(), "a stop with clients connected logs no warning");
            closeQuietly(persistent);

            // a persistent session connected through the stop is kept: what was published while it was away reaches it
            app.start();
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/kept", "while away", 1, false);
            Clients.close(publisher);
            try (Subscriber back = Subscriber.connect(app.tcpUrl(), persistentId, false)) {
                assertEquals("while away", back.next(Duration.ofSeconds(10)).payload());
            }
        } finally {
            for (Socket subscriber : subscribers) {
                subscriber.close();
            }
        }
    }

    private static void closeQuietly(Subscriber subscriber) {
        try {
            subscriber.close();
        } catch (Exception lostWithTheBroker) {
            // its connection went with the broker
        }
    }

    private static void assertNobodyConnects(int port) throws Exception {
        // the broker's port, now taken by a listener that records any connection attempt (Paho retries within 1-5 s)
        try (ServerSocket listener = listen(port)) {
            listener.setSoTimeout(8_000);
            Socket attempt;
            try {
                attempt = listener.accept();
            } catch (SocketTimeoutException quiet) {
                return; // nobody came: as it should be
            }
            try (attempt) {
                fail("a client of the stopped application connected again: " + whoConnected(attempt));
            }
        }
    }

    /** The broker's port, taken by this test while the broker is away. */
    private static ServerSocket listen(int port) throws IOException {
        ServerSocket listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return listener;
    }

    /**
     * Who connected, from the first packet it sends within 2 s: an MQTT CONNECT's client id (not its password), or
     * what else came, or how reading it ended.
     */
    private static String whoConnected(Socket connection) {
        try {
            connection.setSoTimeout(2000);
            DataInputStream in = new DataInputStream(connection.getInputStream());
            int type = in.read();
            if (type < 0) {
                return "(closed without sending)";
            }
            if (type != 0x10) {
                return "a first byte 0x" + Integer.toHexString(type) + ", not an MQTT CONNECT";
            }
            skipVariableLength(in); // Remaining Length
            String protocol = in.readUTF();
            int level = in.readUnsignedByte();
            in.readUnsignedByte(); // flags
            in.readUnsignedShort(); // keep-alive
            if (level == 5) {
                in.skipNBytes(skipVariableLength(in)); // properties
            }
            return "an MQTT CONNECT (" + protocol + " level " + level + ") from client id " + in.readUTF();
        } catch (IOException e) {
            return "(sent nothing: " + e + ")";
        }
    }

    private static int skipVariableLength(DataInputStream in) throws IOException {
        int value = 0;
        int shift = 0;
        int digit;
        do {
            digit = in.readUnsignedByte();
            value |= (digit & 0x7F) << shift;
            shift += 7;
        } while ((digit & 0x80) != 0);
        return value;
    }
}
