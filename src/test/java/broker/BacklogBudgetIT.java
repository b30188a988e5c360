package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.server.Queue;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stalled subscriptions (persistent sessions away) share {@code max-queued-messages}: however many there are, what
 * they hold together stays within it, each keeps the newest messages of its share, and the share grows back when
 * subscriptions go. Without the budget each kept {@code subscriber-backlog}: 1,100 of them at 10,000 filled a 768 MiB
 * heap and the broker died of OutOfMemoryError.
 */
class BacklogBudgetIT {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final int BACKLOG = 100;
    private static final int BUDGET = 1_000;
    private static final String FILTER = "ansible/budget/#";

    @TempDir
    Path data;

    @Test
    void stalled_subscriptions_share_the_budget_keep_their_newest_messages_and_get_their_share_back() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data)
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.subscriber-backlog", String.valueOf(BACKLOG))
                .set("firehose.broker.max-queued-messages", String.valueOf(BUDGET)).start()) {
            List<String> first = sessions(app, "first", 5);
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            for (int i = 0; i < BACKLOG; i++) {
                Clients.publish(publisher, "ansible/budget/event", String.valueOf(i), 1, false);
            }
            // 5 subscriptions: each keeps its whole backlog (1,000 / 5 is more)
            Await.until(WAIT, () -> first.stream().allMatch(id -> held(app, id) == BACKLOG), () -> "backlogs " + held(app, first));
            assertEquals(BACKLOG, app.broker().subscriberBacklog());

            // 15 more: 20 share 1,000, 50 each; the first five are cut to their newest 50
            List<String> more = sessions(app, "more", 15);
            Await.until(WAIT, () -> first.stream().allMatch(id -> held(app, id) == 50), () -> "backlogs " + held(app, first));
            assertEquals(50, app.broker().subscriberBacklog());
            assertEquals(5 * 50, app.broker().statistics().messagesDropped(), "the cut messages count as dropped");
            String metrics = app.http("/observe/metrics").body();
            assertTrue(metrics.contains("firehose_broker_subscriber_backlog 50.0"), metrics);

            // more events: no subscription goes over its share, and all of them together stay within the budget
            for (int i = BACKLOG; i < 2 * BACKLOG; i++) {
                Clients.publish(publisher, "ansible/budget/event", String.valueOf(i), 1, false);
            }
            Await.until(WAIT, () -> more.stream().allMatch(id -> held(app, id) == 50), () -> "backlogs " + held(app, more));
            long total = IntStream.range(0, 20).mapToLong(i -> held(app, i < 5 ? first.get(i) : more.get(i - 5))).sum();
            assertTrue(total <= BUDGET, "held together: " + total);
            Clients.close(publisher);

            // a session back: the newest 50 events of its share, in order, then nothing
            try (Subscriber back = Subscriber.connect(app.tcpUrl(), first.get(0), false)) {
                for (int i = 2 * BACKLOG - 50; i < 2 * BACKLOG; i++) {
                    assertEquals(String.valueOf(i), back.next(WAIT).payload());
                }
                assertNull(back.poll(Duration.ofMillis(300)));
            }

            // the 15 end their sessions: 5 share 1,000 again, each may keep its whole backlog
            for (String id : more) {
                Subscriber.connect(app.tcpUrl(), id, true).close();
            }
            Await.until(WAIT, () -> app.broker().subscriberBacklog() == BACKLOG, () -> "share " + app.broker().subscriberBacklog());
            Await.until(WAIT, () -> first.stream().allMatch(id -> queue(app, id).getRingSize() == BACKLOG), () -> "ring sizes");
        }
    }

    /** Persistent sessions subscribed to {@link #FILTER} at QoS 1, then away. */
    private static List<String> sessions(FirehoseApp app, String prefix, int count) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = prefix + "-" + i;
            Subscriber.connect(app.tcpUrl(), id, false).subscribe(FILTER, 1).close();
            ids.add(id);
        }
        return ids;
    }

    private static Queue queue(FirehoseApp app, String clientId) {
        return app.broker().server().locateQueue(SimpleString.of(clientId + "." + FILTER.replace('/', '.')));
    }

    private static long held(FirehoseApp app, String clientId) {
        return queue(app, clientId).getMessageCount();
    }

    private static List<Long> held(FirehoseApp app, List<String> clientIds) {
        return clientIds.stream().map(id -> held(app, id)).toList();
    }
}
