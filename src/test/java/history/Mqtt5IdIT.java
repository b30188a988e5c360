package history;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import broker.events.EventIds;
import broker.events.EventStamp;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Mqtt5Callbacks;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MQTT 5 subscribers get each event with the user property {@code firehose-id}, its id in the history, so
 * that they can resume with {@code after=}. The id is the broker's alone; the publisher's other user properties and the
 * payload pass untouched, to MQTT 3.1.1 subscribers too.
 */
class Mqtt5IdIT {

    private static final Duration WAIT = Duration.ofSeconds(20);

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

    @Test
    void each_event_reaches_an_mqtt5_subscriber_with_one_firehose_id_the_id_the_history_lists_for_it() throws Exception {
        V5 subscriber = V5.anonymous();
        subscriber.subscribe("ansible/id/plain/#");
        MqttClient publisher = Clients.publisher(app.tcpUrl()); // MQTT 3.1.1: the id is the broker's, whatever the version
        V5 publisher5 = V5.publisher();
        int events = 20;
        for (int i = 0; i < events; i++) {
            if (i % 2 == 0) {
                Clients.publish(publisher, "ansible/id/plain/" + i % 3, "plain " + i, 1, false);
            } else {
                publisher5.publish("ansible/id/plain/" + i % 3, message(("plain " + i).getBytes(StandardCharsets.UTF_8), false));
            }
        }
        Clients.close(publisher);
        publisher5.disconnect();

        List<String> delivered = new ArrayList<>();
        for (int i = 0; i < events; i++) {
            Received received = subscriber.next();
            assertEquals("plain " + i, received.payload());
            delivered.add(onlyId(received));
        }
        subscriber.disconnect();
        assertEquals(delivered.stream().sorted().toList(), delivered, "ids sort in arrival order");

        List<HistoryClient.Event> history = history().awaitRecorded("ansible/id/plain", events);
        assertEquals(events, history.size());
        Map<String, String> recorded = new HashMap<>();
        for (HistoryClient.Event event : history) {
            recorded.put(event.payload().asText(), event.id());
        }
        for (int i = 0; i < events; i++) {
            assertEquals(recorded.get("plain " + i), delivered.get(i), "the id delivered is the id recorded, for plain " + i);
        }
    }

    @Test
    void a_publisher_cannot_set_the_id_and_its_other_user_properties_arrive_as_sent() throws Exception {
        V5 subscriber = V5.anonymous();
        subscriber.subscribe("ansible/id/spoof");
        String spoofed = "0000000000000001abcdef"; // well-formed: the broker must drop it, not merely fail to parse it
        String second = "ffffffffffffffff000000";
        assertTrue(EventIds.wellFormed(spoofed) && EventIds.wellFormed(second));
        MqttMessage message = message("spoofed".getBytes(StandardCharsets.UTF_8), false);
        message.getProperties().setUserProperties(List.of(new UserProperty("x", "y"), new UserProperty(EventStamp.PROPERTY, spoofed),
                new UserProperty("a", "b"), new UserProperty(EventStamp.PROPERTY, second), new UserProperty("x", "z")));
        V5 publisher = V5.publisher();
        publisher.publish("ansible/id/spoof", message);
        publisher.disconnect();

        Received received = subscriber.next();
        subscriber.disconnect();
        assertEquals("spoofed", received.payload());
        String id = onlyId(received);
        assertNotEquals(spoofed, id);
        assertNotEquals(second, id);
        List<String> others = received.message().getProperties().getUserProperties().stream()
                .filter(p -> !p.getKey().equals(EventStamp.PROPERTY)).map(p -> p.getKey() + "=" + p.getValue()).toList();
        assertEquals(List.of("x=y", "a=b", "x=z"), others, "the publisher's own user properties, in its order");

        assertEquals(List.of(id), HistoryClient.ids(history().awaitRecorded("ansible/id/spoof", 1)));
        HistoryClient.Answer one = history().get(HistoryClient.idPath(id));
        assertEquals(200, one.status(), one.toString());
        assertEquals("spoofed", one.json().path("payload").asText());
        for (String fake : List.of(spoofed, second)) {
            assertEquals(404, history().get(HistoryClient.idPath(fake)).status(), "no event has the id " + fake);
        }
    }

    @Test
    void a_binary_payload_reaches_mqtt_3_1_1_and_5_subscribers_and_the_history_byte_for_byte() throws Exception {
        byte[] every = new byte[256];
        for (int i = 0; i < every.length; i++) {
            every[i] = (byte) i;
        }
        byte[] reversed = new byte[256];
        for (int i = 0; i < reversed.length; i++) {
            reversed[i] = (byte) (255 - i);
        }
        V5 subscriber5 = V5.anonymous();
        subscriber5.subscribe("ansible/id/binary/#");
        V3 subscriber3 = V3.subscribe("ansible/id/binary/#");
        MqttClient publisher3 = Clients.publisher(app.tcpUrl());
        org.eclipse.paho.client.mqttv3.MqttMessage message3 = new org.eclipse.paho.client.mqttv3.MqttMessage(every);
        message3.setQos(1);
        publisher3.publish("ansible/id/binary/v3", message3);
        Clients.close(publisher3);
        V5 publisher5 = V5.publisher();
        publisher5.publish("ansible/id/binary/v5", message(reversed, false));
        publisher5.disconnect();

        for (byte[] sent : List.of(every, reversed)) {
            assertArrayEquals(sent, subscriber3.next().getPayload(), "MQTT 3.1.1 subscriber");
            Received received = subscriber5.next();
            assertArrayEquals(sent, received.message().getPayload(), "MQTT 5 subscriber");
            String id = onlyId(received);
            HistoryClient.Answer payload = history().awaitAnswer(HistoryClient.idPath(id) + "/payload", answer -> answer.status() == 200);
            assertArrayEquals(sent, payload.body(), "/history/{id}/payload: the bytes published");
            assertEquals("application/octet-stream", payload.mediaType());
        }
        subscriber5.disconnect();
        subscriber3.close();
    }

    @Test
    void a_retained_event_delivered_later_carries_the_id_it_was_recorded_with() throws Exception {
        V5 live = V5.anonymous();
        live.subscribe("ansible/id/retained");
        V5 publisher = V5.publisher();
        publisher.publish("ansible/id/retained", message("kept".getBytes(StandardCharsets.UTF_8), true));
        publisher.disconnect();
        String id = onlyId(live.next());
        live.disconnect();
        assertEquals(List.of(id), HistoryClient.ids(history().awaitRecorded("ansible/id/retained", 1)));

        for (int later = 0; later < 2; later++) {
            V5 newcomer = V5.anonymous();
            newcomer.subscribe("ansible/id/retained");
            Received retained = newcomer.next();
            newcomer.disconnect();
            assertTrue(retained.message().isRetained(), "delivered as the retained message");
            assertEquals("kept", retained.payload());
            assertEquals(id, onlyId(retained), "the id it was recorded with, at each later delivery");
        }
        assertEquals(List.of(id), HistoryClient.ids(history().all("/history" + HistoryClient.query("topic", "ansible/id/retained"))),
                "a retained delivery is no new event");
    }

    private static HistoryClient history() {
        return new HistoryClient(app.httpUrl());
    }

    /** The one {@code firehose-id} of a message, well-formed. */
    private static String onlyId(Received received) {
        List<String> ids = received.message().getProperties().getUserProperties().stream()
                .filter(p -> p.getKey().equals(EventStamp.PROPERTY)).map(UserProperty::getValue).toList();
        assertEquals(1, ids.size(), "one " + EventStamp.PROPERTY + ": " + received.message().getProperties().getUserProperties());
        assertTrue(EventIds.wellFormed(ids.get(0)), ids.get(0));
        return ids.get(0);
    }

    private static MqttMessage message(byte[] payload, boolean retained) {
        MqttMessage message = new MqttMessage(payload);
        message.setQos(1);
        message.setRetained(retained);
        message.setProperties(new MqttProperties());
        return message;
    }

    record Received(String topic, MqttMessage message) {
        String payload() {
            return new String(message.getPayload(), StandardCharsets.UTF_8);
        }
    }

    /** A Paho MQTT 5 client that queues what it receives. */
    static final class V5 extends Mqtt5Callbacks {
        private final MqttAsyncClient client;
        private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();

        private V5(String user, String password) throws MqttException {
            client = new MqttAsyncClient(app.tcpUrl(), Clients.id("v5"), null);
            client.setCallback(this);
            MqttConnectionOptions options = new MqttConnectionOptions();
            options.setCleanStart(true);
            options.setAutomaticReconnect(false);
            options.setConnectionTimeout(10);
            if (user != null) {
                options.setUserName(user);
                options.setPassword(password.getBytes(StandardCharsets.UTF_8));
            }
            client.connect(options).waitForCompletion(WAIT.toMillis());
        }

        static V5 anonymous() throws MqttException {
            return new V5(null, null);
        }

        static V5 publisher() throws MqttException {
            return new V5(FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD);
        }

        void subscribe(String filter) throws MqttException {
            IMqttToken token = client.subscribe(filter, 1);
            token.waitForCompletion(WAIT.toMillis());
            assertTrue(token.getReasonCodes()[0] < 0x80, "subscription refused");
        }

        void publish(String topic, MqttMessage message) throws MqttException {
            IMqttToken token = client.publish(topic, message);
            token.waitForCompletion(WAIT.toMillis());
            int[] codes = token.getReasonCodes();
            assertTrue(codes == null || codes.length == 0 || codes[0] < 0x80, "publish refused: " + (codes == null ? "" : codes[0]));
        }

        Received next() throws InterruptedException {
            Received next = received.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertNotNull(next, "nothing received within " + WAIT);
            return next;
        }

        void disconnect() throws MqttException {
            client.disconnect().waitForCompletion(WAIT.toMillis());
            client.close();
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            received.add(new Received(topic, message));
        }
    }

    /** A Paho MQTT 3.1.1 subscriber that keeps the messages it receives whole. */
    static final class V3 implements org.eclipse.paho.client.mqttv3.MqttCallback {
        private final MqttClient client;
        private final BlockingQueue<org.eclipse.paho.client.mqttv3.MqttMessage> received = new LinkedBlockingQueue<>();

        private V3(MqttClient client) {
            this.client = client;
        }

        static V3 subscribe(String filter) throws Exception {
            MqttClient client = new MqttClient(app.tcpUrl(), Clients.id("v311"), null);
            V3 subscriber = new V3(client);
            client.setCallback(subscriber);
            MqttConnectOptions options = Clients.options(app.tcpUrl(), null, null);
            options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            client.connect(options);
            client.subscribe(filter, 1);
            return subscriber;
        }

        org.eclipse.paho.client.mqttv3.MqttMessage next() throws InterruptedException {
            org.eclipse.paho.client.mqttv3.MqttMessage next = received.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertNotNull(next, "nothing received within " + WAIT);
            assertFalse(next.isDuplicate());
            return next;
        }

        void close() {
            Clients.close(client);
        }

        @Override
        public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message) {
            received.add(message);
        }

        @Override
        public void connectionLost(Throwable cause) {
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
        }
    }
}
