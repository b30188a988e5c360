package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.RawMqtt;
import firehose.Subscriber;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.server.Queue;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A subscriber that stops reading must neither grow the broker's memory without bound nor hold back the others:
 * its subscription keeps only the newest {@code subscriber-backlog} messages.
 */
class StalledSubscriberIT {

    private static final int MESSAGES = 100_000;
    private static final int BACKLOG = 5_000;
    private static final int BATCH = 1_000;

    @TempDir
    Path data;

    @Test
    void stalled_subscriber_keeps_a_bounded_backlog_and_others_get_everything() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data)
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.subscriber-backlog", String.valueOf(BACKLOG)).start();
             Socket stalled = RawMqtt.subscriber(app.port("mqtt"), "stalled", 0, "ansible/load/#", 4096);
             Subscriber healthy = Subscriber.on(app.tcpUrl(), "ansible/load/#").countOnly()) {

            long heapBefore = usedHeapAfterGc();
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            byte[] kib = new byte[1024];
            Arrays.fill(kib, (byte) 'x');
            String payload = new String(kib, StandardCharsets.US_ASCII);
            for (int sent = 0; sent < MESSAGES; ) {
                for (int i = 0; i < BATCH; i++, sent++) {
                    Clients.publish(publisher, "ansible/load/event", payload, 0, false);
                }
                // the healthy subscriber keeps pace while the stalled one holds nothing back
                long target = sent;
                Await.until(Duration.ofSeconds(30), () -> healthy.count() >= target,
                        () -> "healthy subscriber stuck at " + healthy.count() + " of " + target);
            }
            Clients.close(publisher);

            assertEquals(MESSAGES, healthy.count(), "the healthy subscriber got every message, none twice");
            Queue queue = app.broker().server().locateQueue(SimpleString.of("stalled.ansible.load.#"));
            assertNotNull(queue, "the stalled subscriber is still subscribed");
            long held = queue.getMessageCount();
            assertTrue(held <= BACKLOG + BATCH, "stalled backlog bounded: " + held);
            assertTrue(app.broker().statistics().messagesDropped() >= MESSAGES - BACKLOG - 2 * BATCH,
                    "oldest messages dropped: " + app.broker().statistics().messagesDropped());
            long growth = usedHeapAfterGc() - heapBefore;
            // unbounded, 100k x 1 KiB would hold well over 100 MiB
            assertTrue(growth < 48L << 20, "heap grew by " + (growth >> 20) + " MiB");
        }
    }

    /** A raw MQTT 3.1.1 client that connects, subscribes, and then never reads again. */
    private static long usedHeapAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        memory.gc();
        memory.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }
}
