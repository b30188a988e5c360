package broker;

import broker.guard.ExpiryIntervals;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.Mqtt5Callbacks;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MQTT 5 as standard client libraries rely on it, with Paho Java's MQTT 5 client: session expiry (MQTT 5 §3.1.2.11.2),
 * message expiry (§3.3.2.3.3) and request/response (§4.10). The waits here are the intervals under test, not
 * synchronisation: a session is present or gone according to the time that has passed.
 */
class Mqtt5IT {

    /** The most a session may outlive its connection here (firehose.broker.session-expiry). */
    private static final long CAP = 3_600;
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    static Path data;
    static FirehoseApp app;

    @BeforeAll
    static void start() {
        app = FirehoseApp.builder(data)
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.session-expiry", String.valueOf(CAP))
                .start();
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    @Test
    void a_session_with_expiry_interval_0_ends_at_disconnect() throws Exception {
        for (Long interval : new Long[] {0L, null}) { // null: the property left out, which means 0
            String id = Clients.id("expiry0");
            Client first = Client.anonymous(id, false, interval);
            assertFalse(first.sessionPresent);
            first.subscribe(new MqttSubscription("ansible/mqtt5/expiry0", 1));
            first.disconnect();
            Client publisher = Client.publisher(Clients.id("pub"));
            publisher.publish("ansible/mqtt5/expiry0", "while away", 1, null);

            Client again = Client.anonymous(id, false, interval);
            assertFalse(again.sessionPresent, "no session outlives its connection with interval " + interval);
            assertNull(again.poll(Duration.ofMillis(500)), "and nothing of it is delivered");
            again.disconnect();
            publisher.disconnect();
        }
    }

    @Test
    void a_disconnect_cannot_keep_a_session_its_connect_said_would_end() throws Exception {
        String id = Clients.id("expiry0-kept");
        MqttProperties keep = new MqttProperties();
        keep.setSessionExpiryInterval(600L); // MQTT 5 §3.14.2.2.2: a protocol error after a CONNECT's 0
        Client first = Client.anonymous(id, true, 0L);
        first.subscribe(new MqttSubscription("ansible/mqtt5/kept", 1));
        first.disconnect(keep);
        Client again = Client.anonymous(id, false, 0L);
        assertFalse(again.sessionPresent, "the session ended with its connection, as its CONNECT said");
        again.disconnect();
    }

    @Test
    void a_session_with_expiry_interval_5_is_there_after_2_seconds_and_gone_after_6() throws Exception {
        String early = Clients.id("expiry5-early");
        String late = Clients.id("expiry5-late");
        Client.anonymous(early, true, 5L).disconnect();
        Client.anonymous(late, true, 5L).disconnect();
        long disconnected = System.nanoTime();

        sleepUntil(disconnected, Duration.ofSeconds(2));
        Client back = Client.anonymous(early, false, 5L);
        assertTrue(back.sessionPresent, "2 s after the disconnect the session is still there");
        back.disconnect();

        sleepUntil(disconnected, Duration.ofSeconds(6));
        Client tooLate = Client.anonymous(late, false, 5L);
        assertFalse(tooLate.sessionPresent, "6 s after the disconnect a session of 5 s is gone");
        tooLate.disconnect();
    }

    @Test
    void messages_wait_for_an_offline_subscriber_until_they_expire_and_arrive_with_the_time_they_have_left() throws Exception {
        String id = Clients.id("offline");
        Client subscriber = Client.anonymous(id, true, 60L);
        subscriber.subscribe(new MqttSubscription("ansible/mqtt5/expiring/#", 2));
        MqttProperties longer = new MqttProperties();
        longer.setSessionExpiryInterval(999_999_999L); // more than the server keeps sessions: the server's cap applies
        subscriber.disconnect(longer);

        Client publisher = Client.publisher(Clients.id("pub"));
        long published = System.nanoTime();
        for (int qos = 1; qos <= 2; qos++) {
            for (long expiry : new long[] {1, 6}) {
                publisher.publish("ansible/mqtt5/expiring/q" + qos, "q" + qos + " expiry " + expiry, qos, expiry);
            }
        }
        publisher.disconnect();
        sleepUntil(published, Duration.ofSeconds(3));

        Client back;
        try (LogCapture log = LogCapture.open()) {
            back = Client.anonymous(id, false, 60L);
            assertTrue(back.sessionPresent, "the session outlived its connection");
            assertEquals(List.of(), log.problems(), "a message expiring is MQTT 5 at work, not a warning");
        }
        for (int qos = 1; qos <= 2; qos++) {
            Received received = back.next(WAIT);
            assertEquals("q" + qos + " expiry 6", received.payload(), "the unexpired messages, and only them");
            assertEquals(qos, received.message().getQos());
            Long left = received.message().getProperties().getMessageExpiryInterval();
            assertNotNull(left, "the message expiry interval is forwarded");
            assertTrue(left > 0 && left < 6, "the time the message has left, not the interval it was published with: " + left);
        }
        assertNull(back.poll(Duration.ofMillis(500)), "the expired ones are not delivered");
        back.disconnect();
    }

    @Test
    void a_message_that_never_expires_is_delivered() throws Exception {
        Client subscriber = Client.anonymous(Clients.id("sub"), true, null);
        subscriber.subscribe(new MqttSubscription("ansible/mqtt5/lasting", 1));
        Client publisher = Client.publisher(Clients.id("pub"));
        publisher.publish("ansible/mqtt5/lasting", "for ever", 1, 0xFFFF_FFFFL);
        publisher.publish("ansible/mqtt5/lasting", "a thousand years", 1, 999_999_999L);
        for (String payload : new String[] {"for ever", "a thousand years"}) {
            Received received = subscriber.next(WAIT);
            assertEquals(payload, received.payload(), "delivered, not expired as it was published");
            long left = received.message().getProperties().getMessageExpiryInterval();
            assertTrue(left > ExpiryIntervals.LONGEST - 10 && left <= ExpiryIntervals.LONGEST, "at most what the server keeps: " + left);
        }
        subscriber.disconnect();
        publisher.disconnect();
    }

    @Test
    void the_server_tells_a_client_that_asks_for_more_than_it_keeps_sessions_how_long_it_keeps_them() throws Exception {
        Client forever = Client.anonymous(Clients.id("forever"), true, 0xFFFF_FFFFL);
        assertEquals(CAP, forever.connack.getSessionExpiryInterval(), "CONNACK's Session Expiry Interval: the server's limit");
        forever.disconnect();
        Client modest = Client.anonymous(Clients.id("modest"), true, 60L);
        assertNull(modest.connack.getSessionExpiryInterval(), "within the limit, the client's own interval stands");
        modest.disconnect();
    }

    @Test
    void request_and_response_between_two_no_local_subscribers() throws Exception {
        Client a = Client.publisher(Clients.id("requester"));
        Client b = Client.publisher(Clients.id("responder"));
        a.subscribe(noLocal("ansible/mqtt5/service"), new MqttSubscription("ansible/mqtt5/replies/a", 1));
        b.subscribe(noLocal("ansible/mqtt5/service"));

        MqttMessage request = new MqttMessage("what time is it".getBytes(StandardCharsets.UTF_8));
        request.setQos(1);
        MqttProperties properties = new MqttProperties();
        properties.setResponseTopic("ansible/mqtt5/replies/a");
        properties.setCorrelationData(new byte[] {1, 2, 3, 0, -1});
        request.setProperties(properties);
        a.publish("ansible/mqtt5/service", request);

        Received asked = b.next(WAIT);
        assertEquals("what time is it", asked.payload());
        assertEquals("ansible/mqtt5/replies/a", asked.message().getProperties().getResponseTopic());
        assertArrayEquals(new byte[] {1, 2, 3, 0, -1}, asked.message().getProperties().getCorrelationData());

        MqttMessage response = new MqttMessage("noon".getBytes(StandardCharsets.UTF_8));
        response.setQos(1);
        MqttProperties correlated = new MqttProperties();
        correlated.setCorrelationData(asked.message().getProperties().getCorrelationData());
        response.setProperties(correlated);
        b.publish(asked.message().getProperties().getResponseTopic(), response);

        Received answer = a.next(WAIT);
        assertEquals("ansible/mqtt5/replies/a", answer.topic(), "A gets the reply, not its own request (No Local)");
        assertEquals("noon", answer.payload());
        assertArrayEquals(new byte[] {1, 2, 3, 0, -1}, answer.message().getProperties().getCorrelationData());
        assertNull(a.poll(Duration.ofMillis(300)));
        assertNull(b.poll(Duration.ofMillis(300)), "B does not get its own reply, nor its request twice");
        a.disconnect();
        b.disconnect();
    }

    @Test
    void a_no_local_subscription_holds_none_of_its_own_messages() throws Exception {
        String id = Clients.id("talker");
        Client talker = Client.publisher(id);
        talker.subscribe(noLocal("ansible/mqtt5/chat"));
        for (int i = 0; i < 100; i++) {
            talker.publish("ansible/mqtt5/chat", "mine " + i, 1, null);
        }
        Client other = Client.publisher(Clients.id("other"));
        other.publish("ansible/mqtt5/chat", "theirs", 1, null);
        assertEquals("theirs", talker.next(WAIT).payload(), "another client's message arrives, none of its own");
        var queue = app.broker().server().locateQueue(SimpleString.of(id + ".ansible.mqtt5.chat"));
        assertNotNull(queue);
        Await.until(WAIT, () -> queue.getMessageCount() == 0, () -> queue.getMessageCount() + " messages left in the subscription");
        talker.disconnect();
        other.disconnect();
    }

    private static MqttSubscription noLocal(String filter) {
        MqttSubscription subscription = new MqttSubscription(filter, 1);
        subscription.setNoLocal(true);
        return subscription;
    }

    private static void sleepUntil(long start, Duration after) throws InterruptedException {
        long left = start + after.toNanos() - System.nanoTime();
        if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }

    record Received(String topic, MqttMessage message) {
        String payload() {
            return new String(message.getPayload(), StandardCharsets.UTF_8);
        }
    }

    /** A Paho MQTT 5 client that queues what it receives. */
    static final class Client extends Mqtt5Callbacks {
        private static final long WAIT_MILLIS = 20_000;
        private final MqttAsyncClient client;
        final boolean sessionPresent;
        final MqttProperties connack;
        private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();

        private Client(String id, String user, String password, boolean cleanStart, Long sessionExpiry) throws Exception {
            client = new MqttAsyncClient(app.tcpUrl(), id, null);
            client.setCallback(this);
            MqttConnectionOptions options = new MqttConnectionOptions();
            options.setCleanStart(cleanStart);
            options.setSessionExpiryInterval(sessionExpiry);
            options.setAutomaticReconnect(false);
            options.setConnectionTimeout(10);
            if (user != null) {
                options.setUserName(user);
                options.setPassword(password.getBytes(StandardCharsets.UTF_8));
            }
            IMqttToken token = client.connect(options);
            token.waitForCompletion(WAIT_MILLIS);
            sessionPresent = token.getSessionPresent();
            connack = token.getResponseProperties() == null ? new MqttProperties() : token.getResponseProperties();
        }

        static Client anonymous(String id, boolean cleanStart, Long sessionExpiry) throws Exception {
            return new Client(id, null, null, cleanStart, sessionExpiry);
        }

        static Client publisher(String id) throws Exception {
            return new Client(id, FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD, true, null);
        }

        void subscribe(MqttSubscription... subscriptions) throws Exception {
            IMqttToken token = client.subscribe(subscriptions);
            token.waitForCompletion(WAIT_MILLIS);
            for (int code : token.getReasonCodes()) {
                assertTrue(code < 0x80, "subscription refused: " + code);
            }
        }

        void publish(String topic, MqttMessage message) throws Exception {
            client.publish(topic, message).waitForCompletion(WAIT_MILLIS);
        }

        void publish(String topic, String payload, int qos, Long expiry) throws Exception {
            MqttMessage message = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
            message.setQos(qos);
            if (expiry != null) {
                MqttProperties properties = new MqttProperties();
                properties.setMessageExpiryInterval(expiry);
                message.setProperties(properties);
            }
            publish(topic, message);
        }

        Received next(Duration wait) throws InterruptedException {
            Received next = received.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
            assertNotNull(next, "nothing received within " + wait);
            return next;
        }

        Received poll(Duration wait) throws InterruptedException {
            return received.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        }

        void disconnect() throws Exception {
            disconnect(new MqttProperties());
        }

        /** A normal DISCONNECT (reason 0) with these properties, e.g. a new Session Expiry Interval. */
        void disconnect(MqttProperties properties) throws Exception {
            client.disconnect(5_000, null, null, 0, properties).waitForCompletion(WAIT_MILLIS);
            client.close();
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            received.add(new Received(topic, message));
        }
    }
}
