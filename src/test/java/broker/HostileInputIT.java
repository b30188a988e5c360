package broker;

import broker.guard.Refusals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of malformed inputs (seeded) against the running application while a persistent QoS 1 subscriber receives
 * a numbered stream from a publisher account: nothing lost, in order, nothing forged delivered, the log bounded, the
 * heap bounded, and a fresh client connects afterwards.
 */
class HostileInputIT {

    private static final int INPUTS = 2_000;
    private static final int EVENTS = 400;
    /** Seconds a silent socket may stay (the silent inputs are gone this long after the attack). */
    private static final int HANDSHAKE_TIMEOUT_SECONDS = 5;
    /** What 2,000 refused connections may leave in the heap: 2 KiB each would reach it (1.2 MiB measured; holding on
     * to each refused connection left 7.6 MiB). */
    private static final long HEAP_BOUND = 4L << 20;
    /** How long the attack may take: each input ends at once, or within the socket's 5 s read timeout if left open. */
    private static final Duration ATTACK_BOUND = Duration.ofSeconds(120);

    @TempDir
    Path data;

    @Test
    void malformed_inputs_by_the_thousand_cost_a_few_log_lines_and_no_event() throws Exception {
        // Artemis' WebSocket handler prints exceptions to standard error, past the log configuration: watch it too
        java.io.PrintStream stderr = System.err;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(printed, true, StandardCharsets.UTF_8));
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                     .set("firehose.broker.handshake-timeout", String.valueOf(HANDSHAKE_TIMEOUT_SECONDS)).start()) {
            Subscriber subscriber = Subscriber.connect(app.tcpUrl(), Clients.id("steady"), false).subscribe("ansible/#", 1);
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            long heapBefore = heapAfterCollection();
            int connections = app.broker().server().getConnectionCount();
            AtomicBoolean hostile = new AtomicBoolean(true);
            FutureTask<Integer> attack = new FutureTask<>(() -> attack(app, hostile));
            Thread attacker = new Thread(attack, "attacker");
            long started = System.nanoTime();
            attacker.start();
            try {
                for (int i = 0; i < EVENTS; i++) {
                    Clients.publish(publisher, "ansible/stream", String.valueOf(i), 1, false);
                    Thread.sleep(5); // a steady pace, under the attack
                }
                // the attack must end, and end normally: an input the broker left hanging, or an exception, fails here
                int sent = attack.get(ATTACK_BOUND.toSeconds(), TimeUnit.SECONDS);
                assertEquals(INPUTS, sent, "hostile inputs sent");
                System.out.printf("%,d hostile inputs in %.1f s%n", sent, (System.nanoTime() - started) / 1e9);
            } catch (TimeoutException e) {
                fail("the attack still ran after " + ATTACK_BOUND + ": " + Arrays.toString(attacker.getStackTrace()));
            } catch (ExecutionException e) {
                throw new AssertionError("the attack ended with an exception", e.getCause());
            } finally {
                hostile.set(false);
                attacker.join(10_000);
            }
            for (int i = 0; i < EVENTS; i++) {
                Subscriber.Received received = subscriber.next(Duration.ofSeconds(20));
                assertEquals("ansible/stream", received.topic(), "nothing forged among the events");
                assertEquals(String.valueOf(i), received.payload());
            }
            // what the hostile connections leave behind once they are gone (silent sockets go after the handshake timeout)
            Await.until(Duration.ofSeconds(HANDSHAKE_TIMEOUT_SECONDS + 20), () -> app.broker().server().getConnectionCount() <= connections,
                    () -> app.broker().server().getConnectionCount() + " connections still open");
            long grown = heapAfterCollection() - heapBefore;
            System.out.printf("heap after %,d hostile inputs: %+,d KiB%n", INPUTS, grown / 1024);
            assertTrue(grown < HEAP_BOUND, "the heap stays bounded: " + grown / 1024 + " KiB more after " + INPUTS + " hostile inputs");
            Clients.close(publisher);
            subscriber.close();

            StringBuilder counts = new StringBuilder();
            for (String listener : List.of("mqtt", "mqtt-ws")) {
                for (String reason : List.of(Refusals.INVALID_STRING, Refusals.MALFORMED_PACKET)) {
                    counts.append(listener).append('/').append(reason).append('=').append(app.broker().refused(listener, reason)).append(' ');
                }
            }
            // each kind of input is a sixth of them: random bytes and broken lengths (malformed), forged topics (invalid
            // string), corrupt WebSocket frames (malformed, on mqtt-ws); bad filters and protocol levels get an answer
            int sixth = INPUTS / 6;
            assertTrue(app.broker().refused("mqtt", Refusals.MALFORMED_PACKET) >= 2 * sixth, counts.toString());
            assertTrue(app.broker().refused("mqtt", Refusals.INVALID_STRING) >= sixth, counts.toString());
            assertTrue(app.broker().refused("mqtt-ws", Refusals.MALFORMED_PACKET) >= sixth, counts.toString());
            List<LogCapture.Line> problems = log.problems();
            assertTrue(problems.size() <= 4, "one line a minute per reason: " + problems);
            assertTrue(log.lines().stream().noneMatch(l -> l.text().contains(" | ")), "no stack trace");
            assertEquals("", printed.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("Exception")).findFirst().orElse(""),
                    "nothing printed past the log");
            try (Subscriber fresh = Subscriber.on(app.tcpUrl(), "ansible/#")) {
                MqttClient after = Clients.publisher(app.tcpUrl());
                Clients.publish(after, "ansible/after", "still serving", 1, false);
                assertEquals("still serving", fresh.next(Duration.ofSeconds(10)).payload());
                Clients.close(after);
            }
        } finally {
            System.setErr(stderr);
        }
    }

    /** The heap in use after a full collection (the application runs in this JVM). */
    private static long heapAfterCollection() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        memory.gc();
        memory.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }

    /** Sends the hostile inputs until all are sent or {@code hostile} is cleared; returns how many were sent. */
    private static int attack(FirehoseApp app, AtomicBoolean hostile) {
        Random random = new Random(1234);
        byte[] wsUpgrade = ("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        int i = 0;
        for (; i < INPUTS && hostile.get(); i++) {
            try {
                switch (i % 6) {
                    case 0 -> { // random bytes that open no protocol
                        byte[] garbage = new byte[8 + random.nextInt(100)];
                        random.nextBytes(garbage);
                        garbage[0] = (byte) (0x40 | garbage[0] & 0x0f);
                        send(app.port("mqtt"), garbage);
                    }
                    case 1 -> send(app.port("mqtt"), new byte[] {0x10, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x7f, 0, 0});
                    case 2 -> { // a PUBLISH by the publisher account with malformed UTF-8 in its topic
                        try (Socket socket = RawMqtt.publisher(app.port("mqtt"), Clients.id("forger"), FirehoseApp.PUBLISHER,
                                FirehoseApp.PUBLISHER_PASSWORD)) {
                            socket.getOutputStream().write(RawMqtt.publish(new byte[] {'a', 'n', 's', 'i', 'b', 'l', 'e', '/',
                                    (byte) (0x80 | random.nextInt(64))}, "forged".getBytes(StandardCharsets.UTF_8)));
                            drain(socket);
                        }
                    }
                    case 3 -> { // a SUBSCRIBE against the wildcard rules: answered, not closed
                        try (Socket socket = RawMqtt.subscriber(app.port("mqtt"), Clients.id("w"), 0, "ansible/ok", 0)) {
                            socket.getOutputStream().write(RawMqtt.subscribe("a/#/b".getBytes(StandardCharsets.UTF_8)));
                            socket.getInputStream().read(new byte[5]);
                        }
                    }
                    case 4 -> { // MQTT over WebSocket, then a corrupt frame; every other time the corrupt frame comes first
                        byte[] frame = new byte[2 + random.nextInt(20)];
                        random.nextBytes(frame);
                        frame[0] = (byte) (frame[0] | 0x70); // reserved bits set: never a valid frame
                        try (Socket socket = new Socket()) {
                            socket.connect(new InetSocketAddress("127.0.0.1", app.port("ws")), 5000);
                            socket.setSoTimeout(5000);
                            socket.getOutputStream().write(wsUpgrade);
                            readPast(socket.getInputStream(), "\r\n\r\n"); // 101 Switching Protocols
                            if (i / 6 % 2 == 1) {
                                socket.getOutputStream().write(maskedBinary(RawMqtt.connect(Clients.id("ws").getBytes(StandardCharsets.UTF_8))));
                                socket.getInputStream().readNBytes(6); // the CONNACK in its frame
                            }
                            socket.getOutputStream().write(frame);
                            drain(socket);
                        }
                    }
                    default -> { // a bad protocol level
                        byte[] body = {0, 4, 'M', 'Q', 'T', 'T', (byte) (6 + random.nextInt(100)), 0x02, 0, 60, 0, 1, 'x'};
                        send(app.port("mqtt"), RawMqtt.concat(new byte[] {0x10, (byte) body.length}, body));
                    }
                }
            } catch (IOException e) {
                // the broker closing first is what is expected
            }
        }
        return i;
    }

    private static void send(int port, byte[] bytes) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write(bytes);
            drain(socket);
        }
    }

    private static void readPast(InputStream in, String end) throws IOException {
        StringBuilder seen = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
            seen.append((char) b);
            if (seen.toString().endsWith(end)) {
                return;
            }
        }
    }

    /** Reads until the broker closes (or 5 s pass). */
    private static void drain(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[1024];
        try {
            while (in.read(buffer) >= 0) {
                // until the end
            }
        } catch (java.net.SocketTimeoutException stillOpen) {
            // left open: counted by the assertions on what was closed
        }
    }

    /** A client's WebSocket binary frame (masked, as RFC 6455 requires of clients). */
    private static byte[] maskedBinary(byte[] payload) {
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write(0x82);
        frame.write(0x80 | payload.length);
        byte[] mask = {1, 2, 3, 4};
        frame.writeBytes(mask);
        for (int i = 0; i < payload.length; i++) {
            frame.write(payload[i] ^ mask[i % 4]);
        }
        return frame.toByteArray();
    }

}
