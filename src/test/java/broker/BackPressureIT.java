package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import firehose.FirehoseApp;
import firehose.RawMqtt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A publisher going flat out at subscribers that all keep reading: the broker reads it only as fast as it can fan
 * out, so every subscriber gets every message (without back-pressure the flood outgrows their backlogs and their
 * oldest messages are dropped).
 */
class BackPressureIT {

    private static final int SUBSCRIBERS = 50;
    private static final int MESSAGES = 20_000;

    @TempDir
    Path data;

    @Test
    void a_flat_out_publisher_is_slowed_to_what_the_subscribers_take_and_nothing_is_dropped() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.subscriber-backlog", "2000").start()) {
            List<Long> got = flood(app, "ansible/flood", SUBSCRIBERS, MESSAGES, 0, 0); // every subscriber keeps reading
            assertEquals(Collections.nCopies(SUBSCRIBERS, (long) MESSAGES), got,
                    () -> "every message reached every subscriber; " + dropped(app));
            assertTrue(dropped(app).contains("firehose_broker_messages_dropped_total 0.0"), dropped(app));
            // the publisher was held back (the flood outruns the fan-out) and let go as soon as the broker caught up;
            // a pause that only ends at its 1 s limit means the broker's count of routed publishes is not read
            assertTrue(app.broker().statistics().publisherPausesCaughtUp() > 0, "the publisher was held back");
            assertTrue(app.broker().statistics().publisherPausesAtLimit() <= 3,
                    () -> app.broker().statistics().publisherPausesAtLimit() + " pauses ended at the limit");
        }
    }

    @Test
    void a_flat_out_publisher_is_held_back_while_most_subscribers_read_slowly() throws Exception {
        int subscribers = 8;
        int messages = 10_000;
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.subscriber-backlog", "3000").start()) {
            // about 2 messages a millisecond each: the publisher is many times faster
            List<Long> got = flood(app, "ansible/slow", subscribers, messages, 16_384, 2);
            // without the fan-out check the flood fills every backlog of 3,000 and the oldest are dropped
            assertEquals(Collections.nCopies(subscribers, (long) messages), got,
                    () -> "every message reached every slow subscriber; " + dropped(app));
            assertTrue(app.broker().statistics().publisherPausesCaughtUp() > 0, "the publisher was held back");
        }
    }

    /**
     * Raw MQTT subscribers on {@code topic}, each read on a thread of its own, and a publisher writing {@code messages}
     * QoS 0 publishes of 1 KiB as fast as its socket takes them; returns how many each subscriber got.
     */
    private static List<Long> flood(FirehoseApp app, String topic, int subscribers, int messages, int receiveBuffer,
                                    int readPerMillisecond) throws Exception {
        List<Socket> sockets = new ArrayList<>();
        List<CompletableFuture<Long>> counts = new ArrayList<>();
        ExecutorService readers = Executors.newFixedThreadPool(subscribers);
        try {
            for (int i = 0; i < subscribers; i++) {
                Socket socket = RawMqtt.subscriber(app.port("mqtt"), "flood-" + i, 0, topic, receiveBuffer);
                socket.setSoTimeout(20_000);
                sockets.add(socket);
                counts.add(CompletableFuture.supplyAsync(() -> RawMqtt.countPublishes(socket, messages, readPerMillisecond), readers));
            }
            try (Socket publisher = RawMqtt.publisher(app.port("mqtt"), "flooder", FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)) {
                OutputStream out = new BufferedOutputStream(publisher.getOutputStream(), 65536);
                byte[] message = RawMqtt.publish(topic, new byte[1024]);
                for (int i = 0; i < messages; i++) {
                    out.write(message);
                }
                out.flush();
                return counts.stream().map(CompletableFuture::join).toList();
            }
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
            readers.shutdown();
        }
    }

    private static String dropped(FirehoseApp app) {
        try {
            return app.http("/observe/metrics").body().lines().filter(l -> l.startsWith("firehose_broker_messages")).toList().toString();
        } catch (Exception e) {
            return e.toString();
        }
    }
}
