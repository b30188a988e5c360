package broker.artemis;

import broker.artemis.ArtemisServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import firehose.Subscriber;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.api.core.management.ResourceNames;
import org.apache.activemq.artemis.core.management.impl.ActiveMQServerControlImpl;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.BindingType;
import org.apache.activemq.artemis.core.postoffice.Bindings;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTStateManager;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTUtil;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The changes {@link ArtemisServer} makes to Artemis: binding queries by address, the MQTT session store. */
class ArtemisServerIT {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final int CHURNS = 200;
    /** The logger of Artemis' MQTT state manager, which sends session records to the store. */
    private static final String STATE_MANAGER = MQTTStateManager.class.getName();

    @TempDir
    Path data;

    @Test
    void binding_queries_name_the_queues_artemis_own_search_finds() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            List<Subscriber> subscribers = new ArrayList<>();
            for (String filter : List.of("ansible/a", "ansible/+", "ansible/#", "#", "+/a", "ansible/a/b", "zuul/#")) {
                subscribers.add(Subscriber.on(app.tcpUrl(), filter));
            }
            subscribers.add(Subscriber.connect(app.tcpUrl(), Clients.id("kept"), false).subscribe("ansible/+/b", 1));
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            for (String topic : List.of("ansible/a", "ansible/a/b", "ansible/c")) {
                Clients.publish(publisher, topic, "retained " + topic, 1, true);
            }
            Clients.close(publisher);

            ActiveMQServer server = app.broker().server();
            for (String address : List.of("ansible.a", "ansible.c", "ansible.a.b", "ansible.#", "ansible.*", "#", "*.a", "zuul.x",
                    "nothing.here", "$sys.mqtt.retain.ansible.a", "$sys.mqtt.retain.ansible.*", "$sys.mqtt.retain.#",
                    "$sys.mqtt.sessions", "activemq.notifications")) {
                SimpleString queried = SimpleString.of(address);
                Set<SimpleString> artemis = new HashSet<>();
                for (Binding binding : server.getPostOffice().getMatchingBindings(queried)) {
                    if (binding.getType() == BindingType.LOCAL_QUEUE || binding.getType() == BindingType.REMOTE_QUEUE) {
                        artemis.add(binding.getUniqueName());
                    }
                }
                assertEquals(artemis, new HashSet<>(server.bindingQuery(queried, false).getQueueNames()), address);
            }
            assertEquals(3, server.bindingQuery(SimpleString.of("$sys.mqtt.retain.#"), false).getQueueNames().size(),
                    "one queue per retained topic");
            for (Subscriber subscriber : subscribers) {
                subscriber.close();
            }
        }
    }

    @Test
    void a_new_wildcard_subscriber_gets_the_retained_message_of_every_matching_topic() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            for (String topic : List.of("ansible/r/1", "ansible/r/2", "ansible/other/3")) {
                Clients.publish(publisher, topic, topic, 1, true);
            }
            Clients.close(publisher);
            try (Subscriber plus = Subscriber.on(app.tcpUrl(), "ansible/r/+")) {
                Set<String> got = new HashSet<>(List.of(plus.next(WAIT).topic(), plus.next(WAIT).topic()));
                assertEquals(Set.of("ansible/r/1", "ansible/r/2"), got);
                assertNull(plus.poll(Duration.ofMillis(300)), "and nothing else");
            }
        }
    }

    /**
     * A CONNECT sees only its own client's session (Artemis copied all of them to ask), while everything else sees
     * them all: the session present flag is right both ways, also across a restart, and the sessions are all listed.
     */
    @Test
    void a_connect_finds_its_own_session_and_the_session_list_stays_whole() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ids.add(Clients.id("kept"));
                Subscriber.connect(app.tcpUrl(), ids.get(i), false).subscribe("ansible/kept/" + i, 1).close();
            }
            assertTrue(MQTTStateManager.getInstance(app.broker().server()).getSessionStates().keySet().containsAll(ids),
                    "every session listed outside a CONNECT");
            assertTrue(sessionPresent(app, ids.get(1)), "a persistent session is found");
            assertFalse(sessionPresent(app, Clients.id("new")), "a new client has none");
            app.close();
            app.start();
            assertTrue(sessionPresent(app, ids.get(2)), "and found after a restart (read from the journal)");
            assertTrue(MQTTStateManager.getInstance(app.broker().server()).getSessionStates().keySet().containsAll(ids));
        }
    }

    /** JMX is off: the broker control builds no JMX notification for the sessions, consumers and bindings made. */
    @Test
    void the_broker_control_builds_no_jmx_notifications() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            List<javax.management.Notification> built = new CopyOnWriteArrayList<>();
            ActiveMQServerControlImpl control = (ActiveMQServerControlImpl) app.broker().server().getManagementService()
                    .getResource(ResourceNames.BROKER);
            control.addNotificationListener((notification, handback) -> built.add(notification), null, null);
            try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/jmx")) {
                Clients.close(Clients.publisher(app.tcpUrl()));
            }
            assertEquals(List.of(), built);
        }
    }

    /**
     * Only a cluster uses Artemis' notifications (its nodes learn each other's subscriptions from them): a node on its
     * own builds none for the sessions, consumers and bindings of its clients. (That a cluster still gets them,
     * {@code ClusterIT} shows.)
     */
    @Test
    void a_node_on_its_own_builds_no_notifications() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            List<String> built = new CopyOnWriteArrayList<>();
            app.broker().server().getManagementService().addNotificationListener(notification -> built.add(notification.toString()));
            try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/alone")) {
                Clients.close(Clients.publisher(app.tcpUrl()));
            }
            assertEquals(List.of(), built);
        }
    }

    private static boolean sessionPresent(FirehoseApp app, String id) throws Exception {
        MqttClient client = new MqttClient(app.tcpUrl(), id, null);
        MqttConnectOptions options = Clients.options(app.tcpUrl(), null, null);
        options.setCleanSession(false);
        boolean present = client.connectWithResult(options).getSessionPresent();
        Clients.close(client);
        return present;
    }

    @Test
    void clean_sessions_leave_no_record_behind_and_persistent_ones_survive_a_restart() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            String persistent = Clients.id("persistent");
            Subscriber.connect(app.tcpUrl(), persistent, false).subscribe("ansible/kept/#", 1).close();
            List<Subscriber> clean = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                clean.add(Subscriber.on(app.tcpUrl(), i % 2 == 0 ? "ansible/clean/" + i : "#"));
            }
            assertEquals(1, sessionRecords(app), "only the persistent session is journaled");

            // clean sessions still connected when the broker stops leave nothing to read back at the next start
            Set<String> cleanIds = new HashSet<>();
            clean.forEach(subscriber -> cleanIds.add(subscriber.client().getClientId()));
            app.close();
            clean.forEach(ArtemisServerIT::closeQuietly);
            app.start();
            Set<String> states = MQTTStateManager.getInstance(app.broker().server()).getSessionStates().keySet();
            assertTrue(states.contains(persistent), states.toString());
            assertTrue(states.stream().noneMatch(cleanIds::contains), "no clean session read back: " + states);
            assertEquals(1, sessionRecords(app));

            assertTrue(sessionPresent(app, persistent, false), "the persistent session is there after the restart");
            String cleanId = Clients.id("clean");
            assertFalse(sessionPresent(app, cleanId, true));
            assertFalse(sessionPresent(app, cleanId, false), "a clean session ended with its connection");
        }
    }

    /**
     * Artemis serialises a client's session into a record at every SUBSCRIBE, clean sessions too; an MQTT 3.x clean
     * session's record would only be dropped, so none is made. Persistent sessions still offer theirs. Seen in
     * Artemis' own line for each record its MQTT state manager sends to the store (at DEBUG): "Adding durable MQTT
     * subscription record for: CLIENT-ID".
     */
    @Test
    void a_clean_mqtt_3_session_makes_no_session_record_and_a_persistent_one_does() throws Exception {
        Level was = LogManager.getLogger(STATE_MANAGER).getLevel();
        Configurator.setLevel(STATE_MANAGER, Level.DEBUG);
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            String cleanId;
            try (Subscriber clean = Subscriber.on(app.tcpUrl(), "ansible/clean/a")) {
                cleanId = clean.client().getClientId();
                clean.subscribe("ansible/clean/b", 1);
                MqttClient publisher = Clients.publisher(app.tcpUrl());
                Clients.publish(publisher, "ansible/clean/b", "m", 1, false);
                Clients.close(publisher);
                assertEquals("m", clean.next(Duration.ofSeconds(15)).payload(), "the subscriptions work");
            }
            String keptId = Clients.id("kept");
            Subscriber.connect(app.tcpUrl(), keptId, false).subscribe("ansible/kept", 1).close();
            assertTrue(recordOffered(log, keptId), "a persistent session's record is offered (Artemis' line is there)");
            assertFalse(recordOffered(log, cleanId), "no record offered for a clean 3.x session");
            assertEquals(1, sessionRecords(app));
        } finally {
            Configurator.setLevel(STATE_MANAGER, was);
        }
    }

    /** Whether Artemis' MQTT state manager said it sent a session record of {@code clientId} to the store. */
    private static boolean recordOffered(LogCapture log, String clientId) {
        return log.lines().stream().anyMatch(line -> line.logger().equals(STATE_MANAGER)
                && line.text().equals("Adding durable MQTT subscription record for: " + clientId));
    }

    /**
     * Clients that subscribe to a topic while others leave it: Artemis removed the topic's address when its last
     * subscription went, or when the client whose SUBSCRIBE made it left, and a SUBSCRIBE that had just made it anew
     * found it gone (an ERROR, a stack trace and a refused subscription). The address now outlives its subscriptions
     * until Artemis' reaper takes it, so every SUBSCRIBE is granted.
     */
    @Test
    void clients_that_subscribe_as_others_leave_the_topic_all_get_their_subscription() throws Exception {
        // without the history: its subscription to every topic keeps every topic's address (as any '#' subscriber does)
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").set("firehose.history.enabled", "false").start()) {
            int port = app.port("mqtt");
            int connections = app.broker().server().getConnectionCount();
            List<String> refused = new CopyOnWriteArrayList<>();
            List<Thread> churners = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                Thread churner = new Thread(() -> {
                    for (int i = 0; i < CHURNS; i++) {
                        try (Socket socket = RawMqtt.subscriber(port, "churn-" + thread + "-" + i, 0, "ansible/churn", 0)) {
                            // RawMqtt checked the first SUBACK; a second filter, on an address of its own
                            socket.getOutputStream().write(RawMqtt.subscribe("ansible/churn/#".getBytes(StandardCharsets.UTF_8)));
                            byte[] suback = socket.getInputStream().readNBytes(5);
                            if (suback.length < 5 || suback[4] != 0) {
                                refused.add("churn-" + thread + "-" + i + ": " + java.util.Arrays.toString(suback));
                            }
                        } catch (IOException | AssertionError e) {
                            refused.add("churn-" + thread + "-" + i + ": " + e);
                        }
                    }
                }, "churner-" + t);
                churner.start();
                churners.add(churner);
            }
            for (Thread churner : churners) {
                churner.join(120_000);
            }
            assertEquals(List.of(), refused, "every SUBSCRIBE granted");
            assertEquals(List.of(), log.problems(), "no ERROR, no WARN");
            // the race is narrow, and seldom met in a test: what closes it is that the address stays a while
            Subscriber.on(app.tcpUrl(), "ansible/once").close(); // its SUBSCRIBE makes the address
            Await.until(WAIT, () -> app.broker().server().getConnectionCount() <= connections, () -> "the churners' connections closed");
            for (String address : List.of("ansible.churn", "ansible.churn.#", "ansible.once")) {
                SimpleString name = SimpleString.of(address);
                // a closed connection's subscription queue goes a moment after the connection
                Await.until(WAIT, () -> unbound(app.broker().server(), name), () -> address + " still bound");
                assertTrue(app.broker().server().getAddressInfo(name) != null, address + " outlives its subscriptions");
            }
        }
    }

    /**
     * Topic addresses do not pile up: with no subscription, Artemis' reaper takes them (two scans, 30 s apart); one that
     * only wildcard subscriptions follow stays, its list of subscriptions whole.
     */
    @Test
    void a_topic_address_with_no_subscription_is_reaped() throws Exception {
        // without the history: its subscription to every topic keeps every topic's address (as any '#' subscriber does)
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").set("firehose.history.enabled", "false").start();
             Subscriber stays = Subscriber.on(app.tcpUrl(), "ansible/followed");
             Subscriber wild = Subscriber.on(app.tcpUrl(), "ansible/wild/#")) {
            Subscriber.on(app.tcpUrl(), "ansible/left").close();
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/unfollowed", "nobody reads this", 1, false);
            Clients.publish(publisher, "ansible/followed", "read", 1, false);
            Clients.publish(publisher, "ansible/wild/topic", "read by a wildcard", 1, false);
            assertEquals("read", stays.next(WAIT).payload());
            assertEquals("read by a wildcard", wild.next(WAIT).payload());
            ActiveMQServer server = app.broker().server();
            for (String address : List.of("ansible.left", "ansible.unfollowed", "ansible.followed", "ansible.wild.topic")) {
                assertTrue(server.getAddressInfo(SimpleString.of(address)) != null, address + " made");
            }
            Bindings list = server.getPostOffice().lookupBindingsForAddress(SimpleString.of("ansible.wild.topic"));
            Await.until(Duration.ofSeconds(100), () -> server.getAddressInfo(SimpleString.of("ansible.left")) == null
                    && server.getAddressInfo(SimpleString.of("ansible.unfollowed")) == null, () -> "unfollowed addresses still there");
            assertTrue(server.getAddressInfo(SimpleString.of("ansible.followed")) != null, "a followed topic's address stays");
            assertTrue(server.getAddressInfo(SimpleString.of("ansible.wild.topic")) != null, "a topic a wildcard follows stays");
            assertSame(list, server.getPostOffice().lookupBindingsForAddress(SimpleString.of("ansible.wild.topic")), "its list not rebuilt");
            Clients.publish(publisher, "ansible/followed", "still read", 1, false);
            Clients.publish(publisher, "ansible/wild/topic", "still read by a wildcard", 1, false);
            assertEquals("still read", stays.next(WAIT).payload());
            assertEquals("still read by a wildcard", wild.next(WAIT).payload());
            Clients.close(publisher);

            // a restart reads back a journal in which no topic address was ever stored
            app.close();
            app.start();
            try (Subscriber again = Subscriber.on(app.tcpUrl(), "ansible/left")) {
                MqttClient after = Clients.publisher(app.tcpUrl());
                Clients.publish(after, "ansible/left", "back", 1, false);
                assertEquals("back", again.next(WAIT).payload());
                Clients.close(after);
            }
            assertEquals(List.of(), log.problems(), "reaping and restarting are quiet");
        }
    }

    /** Whether no subscription is bound to {@code address}. */
    private static boolean unbound(ActiveMQServer server, SimpleString address) {
        try {
            return server.getPostOffice().getBindingsForAddress(address).getBindings().isEmpty();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Records in Artemis' MQTT session store. */
    private static long sessionRecords(FirehoseApp app) {
        return app.broker().server().locateQueue(SimpleString.of(MQTTUtil.MQTT_SESSION_STORE)).getMessageCount();
    }

    /** Connects (and disconnects) a client and tells whether the broker said Session Present. */
    private static boolean sessionPresent(FirehoseApp app, String clientId, boolean cleanSession) throws Exception {
        MqttClient client = new MqttClient(app.tcpUrl(), clientId, null);
        MqttConnectOptions options = Clients.options(app.tcpUrl(), null, null);
        options.setCleanSession(cleanSession);
        try {
            return client.connectWithResult(options).getSessionPresent();
        } finally {
            Clients.close(client);
        }
    }

    private static void closeQuietly(Subscriber subscriber) {
        try {
            subscriber.close();
        } catch (Exception e) {
            // the broker is gone already
        }
    }
}
