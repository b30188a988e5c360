package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Persistent sessions and retained messages survive disconnects and restarts; abandoned sessions expire. */
class PersistentSessionIT {

    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path data;

    @Test
    void persistent_subscriber_gets_every_message_published_while_away_also_across_a_restart() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            String id = Clients.id("persistent");
            Subscriber.connect(app.tcpUrl(), id, false).subscribe("ansible/persist/#", 1).close();

            publish(app, 1, 50);
            MqttClient retainer = publisher(app);
            Clients.publish(retainer, "ansible/retained", "kept", 1, true);
            Clients.close(retainer);
            app.close();
            app.start();
            publish(app, 51, 100);

            try (Subscriber back = Subscriber.connect(app.tcpUrl(), id, false)) {
                List<String> payloads = new ArrayList<>();
                for (int i = 1; i <= 100; i++) {
                    payloads.add(back.next(WAIT).payload());
                }
                for (int i = 1; i <= 100; i++) {
                    assertEquals(String.valueOf(i), payloads.get(i - 1), "message " + i + " in order, none lost");
                }
                assertNull(back.poll(Duration.ofMillis(300)), "and none twice");
            }
            try (Subscriber fresh = Subscriber.on(app.tcpUrl(), "ansible/retained")) {
                Subscriber.Received retained = fresh.next(WAIT);
                assertEquals("kept", retained.payload());
                assertTrue(retained.retained());
            }
        }
    }

    @Test
    void persistent_subscription_to_an_exact_topic_survives_a_restart() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            String id = Clients.id("exact");
            Subscriber.connect(app.tcpUrl(), id, false).subscribe("ansible/exact/topic", 1).close();
            MqttClient publisher = publisher(app);
            Clients.publish(publisher, "ansible/exact/topic", "before", 1, false);
            Clients.close(publisher);
            app.close();
            app.start();
            publisher = publisher(app);
            Clients.publish(publisher, "ansible/exact/topic", "after", 1, false);
            Clients.close(publisher);
            try (Subscriber back = Subscriber.connect(app.tcpUrl(), id, false)) {
                assertEquals("before", back.next(WAIT).payload());
                assertEquals("after", back.next(WAIT).payload());
            }
        }
    }

    @Test
    void abandoned_persistent_session_of_an_anonymous_client_expires() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data)
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.session-expiry", "1").start()) {
            String id = Clients.id("abandoned");
            Subscriber.connect(app.tcpUrl(), id, false).subscribe("ansible/expire/#", 1).close();
            SimpleString queue = SimpleString.of(id + ".ansible.expire.#");
            assertNotNull(app.broker().server().locateQueue(queue), "the session's queue exists after disconnect");
            // Artemis scans for expired sessions every 5 s
            Await.until(Duration.ofSeconds(30), () -> app.broker().server().locateQueue(queue) == null,
                    () -> "queue " + queue + " still there");
        }
    }

    private static MqttClient publisher(FirehoseApp app) throws Exception {
        return Clients.publisher(app.tcpUrl());
    }

    private static void publish(FirehoseApp app, int from, int to) throws Exception {
        MqttClient publisher = publisher(app);
        for (int i = from; i <= to; i++) {
            Clients.publish(publisher, "ansible/persist/run", String.valueOf(i), 1, false);
        }
        Clients.close(publisher);
    }
}
