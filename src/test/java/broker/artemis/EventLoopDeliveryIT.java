package broker.artemis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Subscriber;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import org.apache.activemq.artemis.core.persistence.OperationContext;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTConnection;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTInterceptor;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyConnection;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.ServerConsumer;
import org.apache.activemq.artemis.core.server.ServerSession;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deliveries to a subscriber run on its connection's event loop ({@link EventLoopDelivery}). Which thread a queue's
 * deliveries run on is seen from outside: by the thread each PUBLISH is written from, and by a task handed to the
 * queue's executor (Artemis' own way to run work for a queue), which runs where its deliveries run.
 */
class EventLoopDeliveryIT {

    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path data;

    /** Per client id: whether its last PUBLISH was written from its own connection's event loop. */
    private final Map<String, Boolean> onOwnLoop = new ConcurrentHashMap<>();

    private final MQTTInterceptor recorder = (packet, connection) -> {
        if (packet.fixedHeader().messageType() == MqttMessageType.PUBLISH && packet instanceof MqttPublishMessage
                && connection instanceof MQTTConnection mqtt && mqtt.getClientID() != null) {
            NettyConnection netty = (NettyConnection) connection.getTransportConnection();
            onOwnLoop.put(mqtt.getClientID(), netty.getNettyChannel().eventLoop().inEventLoop());
        }
        return true;
    };

    @Test
    void tcp_and_websocket_subscribers_are_written_to_from_their_own_event_loop() throws Exception {
        try (FirehoseApp app = quiet().start()) {
            app.broker().server().getRemotingService().addOutgoingInterceptor(recorder);
            try (Subscriber tcp = Subscriber.connect(app.tcpUrl(), "loop-tcp", true).subscribe("ansible/#", 0);
                 Subscriber ws = Subscriber.connect(app.wsUrl(), "loop-ws", true).subscribe("ansible/#", 1)) {
                publish(app, "ansible/one");
                assertEquals("ansible/one", tcp.next(WAIT).topic());
                assertEquals("ansible/one", ws.next(WAIT).topic());
                assertEquals(Map.of("loop-tcp", true, "loop-ws", true), onOwnLoop);
                assertTrue(eventLoopOf(app, "loop-tcp").inEventLoop(threadOf(queueOf(app, "loop-tcp"))));
            }
        }
    }

    @Test
    void a_persistent_session_read_back_from_the_journal_delivers_on_its_new_connections_loop() throws Exception {
        try (FirehoseApp app = quiet().start()) {
            Subscriber.connect(app.tcpUrl(), "loop-kept", false).subscribe("ansible/kept", 1).close();
            app.close();
            app.start();
            app.broker().server().getRemotingService().addOutgoingInterceptor(recorder);
            try (Subscriber back = Subscriber.connect(app.tcpUrl(), "loop-kept", false)) {
                // Artemis makes the kept subscriptions' consumers again just after it sends the CONNACK
                Await.until(WAIT, () -> !sessionOf(app, "loop-kept").getServerConsumers().isEmpty(),
                        () -> "the kept subscription's consumer is made again");
                assertTrue(eventLoopOf(app, "loop-kept").inEventLoop(threadOf(queueOf(app, "loop-kept"))));
                publish(app, "ansible/kept");
                assertEquals("ansible/kept", back.next(WAIT).topic());
                assertEquals(Map.of("loop-kept", true), onOwnLoop);
            }
        }
    }

    @Test
    void a_queue_whose_subscriber_left_goes_back_to_the_broker_pool() throws Exception {
        try (FirehoseApp app = quiet().start()) {
            Queue queue;
            EventLoop loop;
            try (Subscriber kept = Subscriber.connect(app.tcpUrl(), "loop-away", false).subscribe("ansible/away", 1)) {
                queue = queueOf(app, "loop-away");
                loop = eventLoopOf(app, "loop-away");
                assertTrue(loop.inEventLoop(threadOf(queue)), "on its subscriber's loop while it is connected");
                assertTrue(threadOf(queue).getName().contains("activemq-remoting-"), "an event loop's thread is told apart: " + threadOf(queue));
            }
            // on no event loop at all: Artemis names its listeners' event loop threads "... (activemq-remoting-<listener>-...)"
            Await.until(WAIT, () -> !threadOf(queue).getName().contains("activemq-remoting-"),
                    () -> "the queue is back on the pool, not on " + threadOf(queue));
            assertEquals(0, queue.getConsumerCount());
            publish(app, "ansible/away");
            Await.until(WAIT, () -> queue.getMessageCount() == 1, () -> "the message waits in the queue, now on the pool");
        }
    }

    @Test
    void a_shared_subscription_follows_a_remaining_subscriber_when_one_leaves() throws Exception {
        try (FirehoseApp app = quiet().start();
             Subscriber staying = Subscriber.connect(app.tcpUrl(), "share-staying", true).subscribe("$share/g/ansible/s", 0)) {
            Queue queue = queueOf(app, "share-staying");
            Subscriber.connect(app.wsUrl(), "share-leaving", true).subscribe("$share/g/ansible/s", 0).close();
            EventLoop stayingLoop = eventLoopOf(app, "share-staying");
            Await.until(WAIT, () -> queue.getConsumerCount() == 1 && stayingLoop.inEventLoop(threadOf(queue)),
                    () -> "the queue runs on the remaining subscriber's loop, not on " + threadOf(queue));
            app.broker().server().getRemotingService().addOutgoingInterceptor(recorder);
            publish(app, "ansible/s");
            assertEquals("ansible/s", staying.next(WAIT).topic());
            assertEquals(Map.of("share-staying", true), onOwnLoop);
        }
    }

    @Test
    void a_delivery_does_not_wait_for_the_journal_writes_of_another_client_on_its_event_loop() throws Exception {
        try (FirehoseApp app = quiet().set("firehose.broker.io-threads", "1").start()) { // one event loop for all
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            try (Subscriber subscriber = Subscriber.connect(app.tcpUrl(), "ctx-sub", true).subscribe("ansible/ctx", 0);
                 Subscriber last = Subscriber.connect(app.tcpUrl(), "ctx-last", true)) {
                // Artemis made the session of the last connection on the loop the loop thread's storage context
                OperationContext busy = sessionOf(app, "ctx-last").getSessionContext();
                busy.storeLineUp(); // a journal write of that client's, still on its way
                try {
                    Clients.publish(publisher, "ansible/ctx", "m", 0, false);
                    assertEquals("ansible/ctx", subscriber.next(WAIT).topic());
                } finally {
                    busy.done();
                }
            } finally {
                Clients.close(publisher);
            }
        }
    }

    @Test
    void with_event_loop_delivery_off_writes_are_handed_over_from_the_pool() throws Exception {
        try (FirehoseApp app = quiet().set("firehose.broker.event-loop-delivery", "false").start()) {
            app.broker().server().getRemotingService().addOutgoingInterceptor(recorder);
            try (Subscriber tcp = Subscriber.connect(app.tcpUrl(), "pool-tcp", true).subscribe("ansible/#", 0)) {
                publish(app, "ansible/one");
                assertEquals("ansible/one", tcp.next(WAIT).topic());
                assertEquals(Map.of("pool-tcp", false), onOwnLoop);
            }
        }
    }

    private FirehoseApp.Builder quiet() {
        return FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0");
    }

    private static void publish(FirehoseApp app, String topic) throws Exception {
        Clients.publishOnce(app.tcpUrl(), topic, "m");
    }

    private static MQTTConnection connectionOf(FirehoseApp app, String clientId) {
        return app.broker().server().getRemotingService().getConnections().stream()
                .filter(c -> c instanceof MQTTConnection m && clientId.equals(m.getClientID()))
                .map(MQTTConnection.class::cast).findFirst().orElseThrow();
    }

    private static EventLoop eventLoopOf(FirehoseApp app, String clientId) {
        return ((NettyConnection) connectionOf(app, clientId).getTransportConnection()).getNettyChannel().eventLoop();
    }

    /** The thread a task handed to the queue's executor runs on: where the queue's deliveries run now. */
    private static Thread threadOf(Queue queue) {
        CompletableFuture<Thread> ran = new CompletableFuture<>();
        queue.getExecutor().execute(() -> ran.complete(Thread.currentThread()));
        try {
            return ran.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            throw new AssertionError("a task on the executor of " + queue.getName() + " did not run", e);
        }
    }

    private static Queue queueOf(FirehoseApp app, String clientId) {
        for (ServerConsumer consumer : sessionOf(app, clientId).getServerConsumers()) {
            return consumer.getQueue();
        }
        throw new AssertionError("no consumer for " + clientId);
    }

    private static ServerSession sessionOf(FirehoseApp app, String clientId) {
        return app.broker().server().getSessions(connectionOf(app, clientId).getID().toString()).iterator().next();
    }
}
