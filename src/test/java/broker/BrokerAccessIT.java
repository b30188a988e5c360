package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The access rules on all four listeners: anonymous read, password publish inside one's own filters, nothing else. */
class BrokerAccessIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    static Path data;
    static FirehoseApp app;

    @BeforeAll
    static void start() {
        app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    static String url(String listener) {
        return switch (listener) {
            case "tcp" -> app.tcpUrl();
            case "ws" -> app.wsUrl();
            case "tls" -> app.sslUrl();
            case "wss" -> app.wssUrl();
            default -> throw new IllegalArgumentException(listener);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "ws", "tls", "wss"})
    void anonymous_subscriber_on_hash_receives_what_a_publisher_account_publishes(String listener) throws Exception {
        try (Subscriber subscriber = Subscriber.on(url(listener), "#")) {
            MqttClient publisher = Clients.publisher(url(listener));
            Clients.publish(publisher, "ansible/playbook/" + listener, "{\"via\":\"" + listener + "\"}", 1, false);
            Clients.close(publisher);

            Subscriber.Received received = subscriber.next(WAIT);
            assertEquals("ansible/playbook/" + listener, received.topic());
            assertEquals("{\"via\":\"" + listener + "\"}", received.payload());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "ws", "tls", "wss"})
    void anonymous_publish_is_refused_and_the_broker_keeps_serving(String listener) throws Exception {
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/#")) {
            MqttClient anonymous = Clients.connect(url(listener), null, null);
            // acknowledged as usual (RefusedPublishIT), and delivered to no one
            Clients.publish(anonymous, "ansible/forged", "forged", 1, false);
            assertTrue(anonymous.isConnected(), "a refused publisher stays connected");
            Clients.close(anonymous);

            MqttClient publisher = Clients.publisher(url(listener));
            Clients.publish(publisher, "ansible/after", "real", 1, false);
            Clients.close(publisher);
            assertEquals("ansible/after", subscriber.next(WAIT).topic(), "the forged message must never arrive");
        }
    }

    @Test
    void publisher_cannot_publish_outside_its_filters() throws Exception {
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "#")) {
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "zuul/check/nova", "intruder", 1, false); // acknowledged, delivered to no one
            Clients.publish(publisher, "ansible/inside", "ok", 1, false); // the same connection goes on
            Clients.close(publisher);
            assertEquals("ansible/inside", subscriber.next(WAIT).topic());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "tls"})
    void wrong_password_or_unknown_user_gets_connack_not_authorized(String listener) {
        MqttException wrong = assertThrows(MqttException.class,
                () -> Clients.connect(url(listener), FirehoseApp.PUBLISHER, "not-the-password"));
        assertEquals(MqttException.REASON_CODE_NOT_AUTHORIZED, wrong.getReasonCode());
        MqttException unknown = assertThrows(MqttException.class, () -> Clients.connect(url(listener), "nobody", "whatever"));
        assertEquals(MqttException.REASON_CODE_NOT_AUTHORIZED, unknown.getReasonCode());
    }

    @ParameterizedTest
    @ValueSource(strings = {"ws", "wss"})
    void wrong_password_is_refused_over_websocket(String listener) {
        // Paho Java's WebSocket transport reports the closed socket rather than the CONNACK code;
        // InteropIT checks the CONNACK code over WebSocket with python paho-mqtt
        assertThrows(MqttException.class, () -> Clients.connect(url(listener), FirehoseApp.PUBLISHER, "not-the-password"));
    }

    @Test
    void anonymous_clients_subscribe_and_unsubscribe_clean_and_persistent_sessions_without_errors() throws Exception {
        try (LogCapture log = LogCapture.open()) {
            for (boolean clean : new boolean[] {true, false}) {
                try (Subscriber subscriber = Subscriber.connect(app.tcpUrl(), Clients.id("unsub"), clean)) {
                    subscriber.subscribe("ansible/#", 1).subscribe("$SYS/#", 0).subscribe("gerrit/+/comment-added", 1);
                    subscriber.client().unsubscribe(new String[] {"ansible/#", "$SYS/#", "gerrit/+/comment-added"});
                }
            }
            // other tests' clients share this broker: only subscription and permission trouble counts here
            List<LogCapture.Line> problems = log.problems().stream()
                    .filter(l -> l.text().contains("unsub-") || l.text().contains("subscription") || l.text().contains("permission"))
                    .toList();
            assertTrue(problems.isEmpty(), () -> "warnings or errors: " + problems);
        }
    }
}
