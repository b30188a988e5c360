package firehose;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;

/** Real Paho MQTT clients for tests. */
public final class Clients {

    private static final AtomicInteger IDS = new AtomicInteger();
    /**
     * How long a client call may block. Paho waits for ever by default, and its WebSocket client can miss a broker
     * closing the connection during CONNECT (seen once with a refused connection: the test hung for 15 minutes).
     */
    static final long TIME_TO_WAIT_MILLIS = 20_000;

    private Clients() {
    }

    public static String id(String prefix) {
        return prefix + "-" + ProcessHandle.current().pid() + "-" + IDS.incrementAndGet();
    }

    public static MqttConnectOptions options(String url, String user, String password) {
        MqttConnectOptions options = new MqttConnectOptions();
        options.setCleanSession(true);
        options.setAutomaticReconnect(false);
        options.setConnectionTimeout(10);
        options.setMaxInflight(1000);
        if (user != null) {
            options.setUserName(user);
            options.setPassword(password.toCharArray());
        }
        if (url.startsWith("ssl:") || url.startsWith("wss:")) {
            options.setSocketFactory(TestTls.socketFactory());
        }
        return options;
    }

    /** A connected client with the given credentials (null user: anonymous). */
    public static MqttClient connect(String url, String user, String password) throws MqttException {
        MqttClient client = new MqttClient(url, id("pub"), null);
        client.setTimeToWait(TIME_TO_WAIT_MILLIS);
        client.connect(options(url, user, password));
        return client;
    }

    public static MqttClient publisher(String url) throws MqttException {
        return connect(url, FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD);
    }

    public static void publish(MqttClient client, String topic, String payload, int qos, boolean retained) throws MqttException {
        MqttMessage message = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
        message.setQos(qos);
        message.setRetained(retained);
        client.publish(topic, message);
    }

    /** Connects the test publisher, publishes {@code payload} once at QoS 1 (not retained), and disconnects. */
    public static void publishOnce(String url, String topic, String payload) throws MqttException {
        MqttClient publisher = publisher(url);
        try {
            publish(publisher, topic, payload, 1, false);
        } finally {
            close(publisher);
        }
    }

    public static void close(MqttClient client) {
        try {
            if (client.isConnected()) {
                client.disconnect(2000);
            }
            client.close(true);
        } catch (MqttException e) {
            // already gone
        }
    }
}
