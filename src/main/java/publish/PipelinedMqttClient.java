package publish;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;

import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttClientPersistence;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Paho client for camel-paho whose {@code publish} returns once the message is queued in order, not after its
 * PUBACK: a stream source can then publish up to {@code window} events ahead, where waiting for each PUBACK would
 * cap it at one event per round trip. Paho keeps unacknowledged QoS 1 messages and sends them again after a
 * reconnect, so nothing is dropped for it; but a queued event is not yet a stored one, so sources that must only
 * acknowledge their input after the broker took the event use the confirming {@code direct:publish}.
 */
public final class PipelinedMqttClient extends MqttClient {

    private static final Logger LOG = LoggerFactory.getLogger(PipelinedMqttClient.class);

    private final Semaphore window;
    private final LongAdder failed = new LongAdder();
    private final IMqttActionListener release = new IMqttActionListener() {
        @Override
        public void onSuccess(IMqttToken token) {
            window.release();
        }

        @Override
        public void onFailure(IMqttToken token, Throwable cause) {
            window.release();
            failed.increment();
            LOG.error("The broker did not take an event: {}", cause == null ? "unknown reason" : cause.getMessage());
        }
    };

    public PipelinedMqttClient(String url, String clientId, MqttClientPersistence persistence, int window) throws MqttException {
        super(url, clientId, persistence);
        this.window = new Semaphore(window);
    }

    @Override
    public void publish(String topic, MqttMessage message) throws MqttException {
        try {
            window.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MqttException(MqttException.REASON_CODE_CLIENT_EXCEPTION, e);
        }
        try {
            aClient.publish(topic, message, null, release);
        } catch (MqttException | RuntimeException e) {
            window.release();
            throw e;
        }
    }

    /** Events Paho handed over but the broker never acknowledged. */
    public long failed() {
        return failed.sum();
    }
}
