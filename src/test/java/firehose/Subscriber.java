package firehose;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;

/** An anonymous Paho subscriber that queues what it receives, for tests to await. */
public final class Subscriber implements MqttCallback, AutoCloseable {

    public record Received(String topic, String payload, int qos, boolean retained) {
    }

    private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    private final AtomicLong count = new AtomicLong();
    private final MqttClient client;
    private volatile boolean keep = true;

    private Subscriber(MqttClient client) {
        this.client = client;
    }

    public static Subscriber connect(String url, String clientId, boolean cleanSession) throws MqttException {
        MqttClient client = new MqttClient(url, clientId, null);
        client.setTimeToWait(Clients.TIME_TO_WAIT_MILLIS);
        Subscriber subscriber = new Subscriber(client);
        client.setCallback(subscriber);
        var options = Clients.options(url, null, null);
        options.setCleanSession(cleanSession);
        client.connect(options);
        return subscriber;
    }

    public static Subscriber on(String url, String filter) throws MqttException {
        Subscriber subscriber = connect(url, Clients.id("sub"), true);
        subscriber.subscribe(filter, 1);
        return subscriber;
    }

    public Subscriber subscribe(String filter, int qos) throws MqttException {
        client.subscribe(filter, qos);
        return this;
    }

    /** Counts messages without keeping them, for high-volume tests. */
    public Subscriber countOnly() {
        keep = false;
        return this;
    }

    public long count() {
        return count.get();
    }

    public MqttClient client() {
        return client;
    }

    public Received next(Duration timeout) throws InterruptedException {
        Received message = received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        assertNotNull(message, "no message within " + timeout);
        return message;
    }

    /** The next message, or null if none arrives within the time. */
    public Received poll(Duration timeout) throws InterruptedException {
        return received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void messageArrived(String topic, MqttMessage message) {
        count.incrementAndGet();
        if (keep) {
            received.add(new Received(topic, new String(message.getPayload(), StandardCharsets.UTF_8), message.getQos(), message.isRetained()));
        }
    }

    @Override
    public void connectionLost(Throwable cause) {
    }

    @Override
    public void deliveryComplete(IMqttDeliveryToken token) {
    }

    @Override
    public void close() throws MqttException {
        if (client.isConnected()) {
            client.disconnect(2000);
        }
        client.close(true);
    }
}
