package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import broker.guard.Refusals;
import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile or careless clients cost at most one log line a minute, never an ERROR or a stack trace. */
class FloodFreeLogIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path data;

    @Test
    void a_first_packet_that_is_not_a_connect_closes_the_connection_with_one_line_and_no_stack_trace() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                     .set("firehose.broker.handshake-timeout", "2").start();
             Subscriber everything = Subscriber.on(app.tcpUrl(), "#")) {
            byte[] subscribe = RawMqtt.subscribe(4, 1, List.of("ansible/#"));
            byte[] publish = RawMqtt.publish("ansible/first", "forged".getBytes(StandardCharsets.UTF_8));
            byte[] pingreq = {(byte) 0xC0, 0};
            // Artemis reads 8 bytes before it takes a connection for MQTT: four PINGREQs are read as packets, one waits
            // for the handshake timeout
            byte[] pingreqs = RawMqtt.concat(pingreq, pingreq, pingreq, pingreq);
            int rounds = 3;
            for (int i = 0; i < rounds; i++) {
                for (byte[] first : List.of(subscribe, publish, pingreqs, pingreq)) {
                    try (Socket socket = new Socket()) {
                        socket.connect(new InetSocketAddress("127.0.0.1", app.port("mqtt")), 5000);
                        socket.setSoTimeout(5000);
                        socket.getOutputStream().write(first);
                        RawMqtt.assertClosed(socket);
                    }
                }
            }
            assertEquals(3 * rounds, app.broker().refused("mqtt", Refusals.MALFORMED_PACKET));
            assertEquals(rounds, app.broker().refused("mqtt", Refusals.HANDSHAKE_TIMEOUT));

            // nothing of them was delivered, and the broker still serves
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/after", "real", 1, false);
            Clients.close(publisher);
            assertEquals("ansible/after", everything.next(WAIT).topic());

            List<LogCapture.Line> problems = log.problems();
            assertEquals(2, problems.size(), "one line for each reason: " + problems);
            assertTrue(problems.stream().anyMatch(l -> l.text().contains("the first packet was a SUBSCRIBE, not a CONNECT")), problems.toString());
            assertTrue(log.lines().stream().noneMatch(l -> l.text().contains(" | ")), "no stack trace: " + log.lines());
        }
    }

    @Test
    void fifty_clients_taking_over_one_client_id_at_once_log_no_error_and_leave_nothing_behind() throws Exception {
        int clients = 50;
        String id = Clients.id("taken");
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            int before = app.broker().server().getConnectionCount();
            ExecutorService threads = Executors.newFixedThreadPool(clients);
            List<Socket> sockets = new ArrayList<>();
            try {
                for (int round = 0; round < 2; round++) {
                    CountDownLatch go = new CountDownLatch(1);
                    List<Future<Socket>> taken = new ArrayList<>();
                    for (int i = 0; i < clients; i++) {
                        taken.add(threads.submit(() -> takeOver(app.port("mqtt"), id, go)));
                    }
                    go.countDown();
                    for (Future<Socket> socket : taken) {
                        sockets.add(socket.get(60, TimeUnit.SECONDS));
                    }
                }
            } finally {
                threads.shutdownNow();
                for (Socket socket : sockets) {
                    socket.close();
                }
            }
            Await.until(Duration.ofSeconds(20), () -> app.broker().server().getConnectionCount() <= before,
                    () -> app.broker().server().getConnectionCount() + " connections");
            // no subscription queue is left without its session (the last one goes as its connection's session ends,
            // just after the connection is counted out), and the id works
            Await.until(Duration.ofSeconds(20), () -> queuesOf(app, id).isEmpty(), () -> "subscription queues left behind: " + queuesOf(app, id));
            try (Subscriber last = Subscriber.connect(app.tcpUrl(), id, true)) {
                last.subscribe("ansible/takeover/#", 1);
                Clients.publishOnce(app.tcpUrl(), "ansible/takeover/after", "after");
                assertEquals("after", last.next(WAIT).payload());
            }
            assertEquals(List.of(), log.problems(), "no ERROR, no WARN");
            assertTrue(log.lines().stream().noneMatch(l -> l.text().contains(" | ")), "no stack trace");
        }
    }

    private static List<String> queuesOf(FirehoseApp app, String clientId) {
        return app.broker().server().getPostOffice().getAllBindings().map(binding -> binding.getUniqueName().toString())
                .filter(name -> name.startsWith(clientId + ".")).toList();
    }

    /**
     * Connects (MQTT 3.1.1, clean session) as {@code id} and subscribes, in one write once {@code go} opens; reads until
     * the broker closes the connection (the next client took the id over) or 3 s pass (still the holder).
     */
    private static Socket takeOver(int port, String id, CountDownLatch go) throws Exception {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(3000);
        byte[] connectAndSubscribe = RawMqtt.concat(RawMqtt.connect(id.getBytes(StandardCharsets.UTF_8)),
                RawMqtt.subscribe(4, 1, List.of("ansible/takeover/#")));
        go.await();
        socket.getOutputStream().write(connectAndSubscribe);
        try {
            InputStream in = socket.getInputStream();
            while (in.read() >= 0) {
                // CONNACK, SUBACK, until the broker closes the connection
            }
        } catch (SocketTimeoutException holder) {
            // still open: the test closes it
        } catch (IOException reset) {
            // closed by the broker with a reset
        }
        return socket;
    }
}
