package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.security.SecurityAuth;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerQueuePlugin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MQTT 5 clients connected when the application stops have their sessions ended before Artemis stops, as MQTT 3.1.1
 * clients do (StopIT): the stop's session end chose MQTT connections by their protocol name, "MQTT", which Artemis
 * turns into "MQTT5" at an MQTT 5 CONNECT, and left those to Artemis' own stop.
 */
class StopMqtt5IT {

    private static final int CLIENTS = 100;

    @TempDir
    Path data;

    @Test
    void stopping_with_mqtt5_subscribers_connected_ends_their_sessions_before_the_broker_stops() throws Exception {
        List<Socket> subscribers = new ArrayList<>();
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            ActiveMQServer server = app.broker().server();
            AtomicInteger whileStarted = new AtomicInteger();
            AtomicInteger whileStopping = new AtomicInteger();
            try {
                for (int i = 0; i < CLIENTS; i++) {
                    // clean start, no Session Expiry Interval: the session ends with the connection
                    Socket subscriber = RawMqtt.connected(app.port("mqtt"), 5, Clients.id("v5-stay"), true);
                    assertEquals(List.of(0), RawMqtt.subscribe(subscriber, 5, 1, List.of("ci/v5/" + i)));
                    subscribers.add(subscriber);
                }
                server.registerBrokerPlugin(new ActiveMQServerQueuePlugin() {
                    @Override
                    public void afterDestroyQueue(Queue queue, SimpleString address, SecurityAuth session, boolean checkConsumerCount,
                            boolean removeConsumers, boolean autoDeleteAddress) {
                        if (address.toString().startsWith("ci.v5.")) {
                            (server.getState() == ActiveMQServer.SERVER_STATE.STARTED ? whileStarted : whileStopping).incrementAndGet();
                        }
                    }
                });
            } finally {
                app.close();
            }
            assertEquals(CLIENTS, whileStarted.get(), "sessions ended (their queues deleted) before Artemis' stop began");
            assertEquals(0, whileStopping.get(), "sessions Artemis' stop ended");
            for (Socket subscriber : subscribers) {
                RawMqtt.assertClosed(subscriber);
            }
            assertEquals(List.of(), log.problems(), "a stop with MQTT 5 clients connected logs no warning");
        } finally {
            for (Socket subscriber : subscribers) {
                subscriber.close();
            }
        }
    }
}
