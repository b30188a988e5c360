package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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
        Thread.sleep(1500); // let them try at least once (Paho: 1 s, then doubling)
        app.close();
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
            assertEquals(subscribers.size(), beforeJournalStopped.get(), "clean sessions whose queue went while the journal ran");
            assertEquals(0, afterJournalStopped.get(), "clean sessions whose queue went after the journal stopped");
            for (Socket subscriber : subscribers) {
                RawMqtt.assertClosed(subscriber);
            }
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
        try (ServerSocket listener = new ServerSocket()) {
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            listener.setSoTimeout(8_000);
            Socket attempt = null;
            try {
                attempt = listener.accept();
            } catch (SocketTimeoutException quiet) {
                // nobody came: as it should be
            }
            try (Socket close = attempt) {
                String connect = "";
                if (attempt != null) {
                    attempt.setSoTimeout(2000);
                    byte[] packet = new byte[256];
                    int read = attempt.getInputStream().read(packet);
                    connect = new String(packet, 0, Math.max(0, read), java.nio.charset.StandardCharsets.ISO_8859_1).replaceAll("[^\\x20-\\x7e]", ".");
                }
                assertNull(attempt, "a client of the stopped application connected again: " + connect);
            } catch (IOException ignored) {
                // closing the attempt
            }
        }
    }
}
