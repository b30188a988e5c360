package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyConnection;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.ServerConsumer;
import org.apache.activemq.artemis.core.server.ServerSession;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerConsumerPlugin;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerSessionPlugin;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packets of a reconnect storm are handled on their connection's event loop, the others on Artemis' pool
 * ({@code ConnectAsking}). Where each ran is seen from the broker: its session is
 * made while the CONNECT is handled, a subscription's consumer while its SUBSCRIBE is (or, for a session read back, its
 * CONNECT).
 */
class EventLoopConnectIT {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final int WAIT_MILLIS = 15_000;

    @TempDir
    Path data;

    /** Per client id, in order: "session" or "consumer", and where it was made ("loop" or "pool"). */
    private final Map<String, List<String>> made = new ConcurrentHashMap<>();

    private final Recorder recorder = new Recorder();

    private final class Recorder implements ActiveMQServerSessionPlugin, ActiveMQServerConsumerPlugin {
        private volatile ActiveMQServer server;

        @Override
        public void registered(ActiveMQServer server) {
            this.server = server;
        }

        @Override
        public void afterCreateSession(ServerSession session) {
            record(session.getRemotingConnection(), "session");
        }

        @Override
        public void afterCreateConsumer(ServerConsumer consumer) {
            record(server.getRemotingService().getConnection(consumer.getConnectionID()), "consumer");
        }

        private void record(RemotingConnection connection, String what) {
            String clientId = connection == null ? null : connection.getClientID();
            if (clientId != null && clientId.startsWith("el-")) {
                NettyConnection netty = (NettyConnection) connection.getTransportConnection();
                String where = netty.getNettyChannel().eventLoop().inEventLoop() ? "loop" : "pool";
                made.computeIfAbsent(clientId, id -> new CopyOnWriteArrayList<>()).add(what + "@" + where);
            }
        }
    }

    @Test
    void a_new_clean_session_connects_and_subscribes_on_its_event_loop_over_tcp_and_websocket() throws Exception {
        try (FirehoseApp app = quiet().start()) {
            register(app);
            try (Subscriber tcp = Subscriber.connect(app.tcpUrl(), "el-tcp", true).subscribe("ansible/a", 0).subscribe("ansible/b", 1);
                 Subscriber ws = Subscriber.connect(app.wsUrl(), "el-ws", true).subscribe("ansible/#", 1)) {
                assertEquals(List.of("session@loop", "consumer@loop", "consumer@loop"), made.get("el-tcp"));
                assertEquals(List.of("session@loop", "consumer@loop"), made.get("el-ws"));
                publish(app, "ansible/a");
                assertEquals("ansible/a", tcp.next(WAIT).topic());
                assertEquals("ansible/a", ws.next(WAIT).topic());
            }
        }
    }

    /**
     * A persistent session's subscription queue is durable (creating it writes to the bindings journal and waits for
     * the disk): its SUBSCRIBE goes to the pool. Coming back, its client has a session to resume: that CONNECT, which
     * makes the consumers of the kept subscriptions, goes to the pool too, as does a CONNECT taking over a client id
     * still connected.
     */
    @Test
    void what_waits_for_the_disk_or_for_another_connection_is_handled_on_the_pool() throws Exception {
        try (FirehoseApp app = quiet().start()) {
            register(app);
            Subscriber.connect(app.tcpUrl(), "el-kept", false).subscribe("ansible/kept", 1).close();
            try (Subscriber back = Subscriber.connect(app.tcpUrl(), "el-kept", false)) {
                // Artemis makes the kept subscription's consumer again just after it sends the CONNACK
                Await.until(WAIT, () -> made.get("el-kept").size() == 4, () -> "made: " + made.get("el-kept"));
                assertEquals(List.of("session@loop", "consumer@pool", "session@pool", "consumer@pool"), made.get("el-kept"));
                publish(app, "ansible/kept");
                assertEquals("ansible/kept", back.next(WAIT).topic());

                try (Subscriber first = Subscriber.connect(app.tcpUrl(), "el-twice", true);
                     Subscriber second = Subscriber.connect(app.tcpUrl(), "el-twice", true)) {
                    assertEquals(List.of("session@loop", "session@pool"), made.get("el-twice"));
                }
            }
        }
    }

    /** MQTT 5 subscription queues are durable whatever the session's interval: the SUBSCRIBE goes to the pool. */
    @Test
    void an_mqtt5_subscribe_is_handled_on_the_pool() throws Exception {
        try (FirehoseApp app = quiet().start()) {
            register(app);
            MqttAsyncClient client = new MqttAsyncClient(app.tcpUrl(), "el-v5", null);
            MqttConnectionOptions options = new MqttConnectionOptions();
            options.setCleanStart(true);
            options.setSessionExpiryInterval(0L);
            client.connect(options).waitForCompletion(WAIT_MILLIS);
            client.subscribe("ansible/v5", 1).waitForCompletion(WAIT_MILLIS);
            client.disconnect().waitForCompletion(WAIT_MILLIS);
            client.close();
            assertEquals(List.of("session@loop", "consumer@pool"), made.get("el-v5"));
        }
    }

    @Test
    void with_event_loop_connect_off_every_packet_goes_to_the_pool() throws Exception {
        try (FirehoseApp app = quiet().set("firehose.broker.event-loop-connect", "false").start()) {
            register(app);
            try (Subscriber tcp = Subscriber.connect(app.tcpUrl(), "el-off", true).subscribe("ansible/a", 0)) {
                assertEquals(List.of("session@pool", "consumer@pool"), made.get("el-off"));
                publish(app, "ansible/a");
                assertEquals("ansible/a", tcp.next(WAIT).topic());
            }
        }
    }

    private void register(FirehoseApp app) throws Exception {
        app.broker().server().registerBrokerPlugin(recorder);
    }

    private FirehoseApp.Builder quiet() {
        return FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0");
    }

    private static void publish(FirehoseApp app, String topic) throws Exception {
        Clients.publishOnce(app.tcpUrl(), topic, "m");
    }
}
