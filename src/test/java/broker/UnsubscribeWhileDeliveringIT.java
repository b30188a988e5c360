package broker;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A subscriber that changes its filter while events flow to it (the viewer does: UNSUBSCRIBE the old filter,
 * SUBSCRIBE the new one, pipelined) has its answers at once. Artemis closed the old subscription holding its consumer's
 * monitor while a QoS 0 delivery, acknowledging itself, waited for that monitor: both stalled 30 s (AMQ222109), and the
 * SUBACK came 30 s late.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UnsubscribeWhileDeliveringIT {

    private static final int SWITCHES = 30;
    /** Far above a switch's time here (under 100 ms on a loaded 2-CPU machine), far below the stall's 30 s. */
    private static final long ANSWER_MILLIS = 10_000;

    private FirehoseApp app;
    private MqttClient publisher;
    private Thread flood;
    private final AtomicBoolean flooding = new AtomicBoolean(true);
    private final AtomicInteger sent = new AtomicInteger();
    private final List<Exception> failures = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start(@TempDir Path data) throws Exception {
        app = FirehoseApp.builder(data).set("firehose.history.enabled", "false").start();
        publisher = Clients.publisher(app.tcpUrl());
        // as fast as the publisher goes, at QoS 0, until the tests end (bounded): a delivery is nearly always under way
        flood = new Thread(() -> {
            try {
                while (flooding.get() && sent.get() < 20_000_000) {
                    Clients.publish(publisher, "ansible/flood/" + (sent.getAndIncrement() % 10), "{\"n\":1}", 0, false);
                }
            } catch (Exception e) {
                failures.add(e);
            }
        }, "flood");
        flood.start();
    }

    @AfterAll
    void stop() throws InterruptedException {
        flooding.set(false);
        if (flood != null) {
            flood.join(ANSWER_MILLIS);
        }
        if (publisher != null) {
            Clients.close(publisher);
        }
        if (app != null) {
            app.close();
        }
        assertTrue(failures.isEmpty(), failures.toString());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tcp", "ws"})
    void a_filter_changed_while_events_flow_is_answered_at_once_and_delivers(String transport) throws Exception {
        AtomicInteger received = new AtomicInteger();
        AtomicInteger other = new AtomicInteger();
        MqttAsyncClient subscriber = new MqttAsyncClient(transport.equals("ws") ? app.wsUrl() : app.tcpUrl(),
                Clients.id("switching"), new MemoryPersistence());
        subscriber.setCallback(new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) {
                (topic.startsWith("ansible/flood/") ? received : other).incrementAndGet();
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        });
        try (LogCapture log = LogCapture.open()) {
            subscriber.connect(Clients.options(app.tcpUrl(), null, null)).waitForCompletion(ANSWER_MILLIS);
            subscriber.subscribe("ansible/other/#", 0).waitForCompletion(ANSWER_MILLIS);
            String current = "#";
            subscriber.subscribe(current, 0).waitForCompletion(ANSWER_MILLIS);
            for (int i = 0; i < SWITCHES; i++) {
                int before = received.get();
                Await.until(Duration.ofMillis(ANSWER_MILLIS), () -> received.get() > before, () -> "events flow to " + transport);
                String next = current.equals("#") ? "ansible/flood/#" : "#";
                IMqttToken unsubscribed = subscriber.unsubscribe(current); // pipelined, as the viewer does
                IMqttToken subscribed = subscriber.subscribe(next, 0);
                unsubscribed.waitForCompletion(ANSWER_MILLIS); // each throws when its answer is later than that
                subscribed.waitForCompletion(ANSWER_MILLIS);
                current = next;
            }
            int before = received.get();
            Await.until(Duration.ofMillis(ANSWER_MILLIS), () -> received.get() > before, () -> "events still flow after the switches");
            Clients.publish(publisher, "ansible/other/x", "{}", 1, false);
            Await.until(Duration.ofMillis(ANSWER_MILLIS), () -> other.get() > 0, () -> "the subscription not unsubscribed still delivers");
            assertFalse(log.lines().stream().anyMatch(line -> line.text().contains("AMQ222109")), "no consumer stalled on close");
        } finally {
            subscriber.disconnectForcibly(1000, 1000);
            subscriber.close();
        }
    }
}
