package broker;

import broker.guard.SubscriptionLimits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.postoffice.QueueBinding;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One client may not hold more than {@code max-subscriptions-per-client} subscriptions, nor all clients together more
 * than {@code max-subscriptions}: each costs the broker a queue. One over a limit gets its failure code in the SUBACK,
 * makes no topic address, and the client stays connected.
 */
class SubscriptionLimitsIT {

    private static final int FAILURE_311 = 0x80;
    private static final int QUOTA_EXCEEDED_5 = 0x97;

    @TempDir
    Path data;

    @Test
    void a_client_over_its_limit_gets_failure_codes_makes_no_address_and_keeps_what_it_has() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                     .set("firehose.broker.max-subscriptions-per-client", "3").start();
             Socket client = RawMqtt.connected(app.port("mqtt"), 4, Clients.id("limited"), true)) {
            ActiveMQServer server = app.broker().server();
            assertEquals(List.of(0, 0, 0, FAILURE_311, FAILURE_311),
                    RawMqtt.subscribe(client, 4, 1, List.of("ansible/a", "ansible/b", "zuul/#", "ansible/over/1", "ansible/over/2")));
            assertNull(server.getAddressInfo(SimpleString.of("ansible.over.1")), "a refused subscription makes no address");
            assertEquals(List.of(0, FAILURE_311), RawMqtt.subscribe(client, 4, 2, List.of("ansible/a", "ansible/over/3")),
                    "at its limit, a client may subscribe again to what it has, nothing new");

            // what it holds still works, on the same connection
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/over/1", "not subscribed", 0, false);
            Clients.publish(publisher, "ansible/a", "subscribed", 0, false);
            assertEquals(List.of("subscribed"), RawMqtt.payloadsUntil(client, "subscribed"));

            // one gone, one new may come
            client.getOutputStream().write(unsubscribe(3, "zuul/#"));
            assertEquals(0xb0, client.getInputStream().read(), "UNSUBACK");
            client.getInputStream().readNBytes(3);
            assertEquals(List.of(0, FAILURE_311), RawMqtt.subscribe(client, 4, 4, List.of("ansible/c", "ansible/d")));
            Clients.publish(publisher, "ansible/c", "new one", 0, false);
            assertEquals(List.of("new one"), RawMqtt.payloadsUntil(client, "new one"));
            Clients.close(publisher);

            assertEquals(4, app.broker().subscriptionsRefused(SubscriptionLimits.PER_CLIENT));
            assertTrue(app.http("/observe/metrics").body().contains("firehose_broker_subscriptions_refused_total{reason=\"per-client\"} 4.0"));
            List<LogCapture.Line> problems = log.problems();
            assertEquals(1, problems.size(), "one line a minute: " + problems);
            assertTrue(problems.get(0).text().contains("max-subscriptions-per-client"), problems.get(0).text());
        }
    }

    @Test
    void an_mqtt5_client_is_told_quota_exceeded() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.max-subscriptions-per-client", "1").start();
             Socket client = RawMqtt.connected(app.port("mqtt"), 5, Clients.id("v5"), true)) {
            assertEquals(List.of(0, QUOTA_EXCEEDED_5, 0x8F), RawMqtt.subscribe(client, 5, 1, List.of("ansible/a", "ansible/b", "a/#/b")));
        }
    }

    @Test
    void subscribes_sent_without_waiting_for_their_subacks_get_no_more_than_the_limit() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Socket client = RawMqtt.connected(app.port("mqtt"), 4, Clients.id("pipelined"), true)) {
            ByteArrayOutputStream packets = new ByteArrayOutputStream();
            for (int packet = 1; packet <= 10; packet++) {
                int first = packet * 100;
                packets.writeBytes(RawMqtt.subscribe(4, packet, IntStream.range(first, first + 30).mapToObj(i -> "ansible/p/" + i).toList()));
            }
            client.getOutputStream().write(packets.toByteArray());
            List<Integer> codes = new ArrayList<>();
            for (int packet = 1; packet <= 10; packet++) {
                codes.addAll(RawMqtt.subAck(client, 4, packet));
            }
            assertEquals(100, Collections.frequency(codes, 0), "granted: the default limit");
            assertEquals(200, Collections.frequency(codes, FAILURE_311), "refused");
            assertEquals(100, subscriptionsUnder(app, "ansible.p."));
            assertEquals(100, app.broker().server().getPostOffice().getAddresses().stream()
                    .filter(address -> address.toString().startsWith("ansible.p.")).count(), "no address made for a refused subscription");
        }
    }

    @Test
    void all_clients_together_stay_within_max_subscriptions_and_a_persistent_session_counts_while_away_and_after_a_restart()
            throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.max-subscriptions", "4").start()) {
            String persistentId = Clients.id("kept");
            try (Socket persistent = RawMqtt.connected(app.port("mqtt"), 4, persistentId, false)) {
                assertEquals(List.of(0, 0), RawMqtt.subscribe(persistent, 4, 1, List.of("ansible/k/1", "ansible/k/2")));
            }
            try (Socket other = RawMqtt.connected(app.port("mqtt"), 4, Clients.id("other"), true)) {
                assertEquals(List.of(0, 0, FAILURE_311), RawMqtt.subscribe(other, 4, 1, List.of("ansible/o/1", "ansible/o/2", "ansible/o/3")),
                        "the persistent session's two count while it is away");
            }
            // the other client's clean session has gone with its subscriptions
            Await.until(Duration.ofSeconds(10), () -> subscriptionsUnder(app, "ansible.o.") == 0, () -> "clean session kept");
            app.close();
            app.start();
            try (Socket third = RawMqtt.connected(app.port("mqtt"), 4, Clients.id("third"), true)) {
                assertEquals(List.of(0, 0, FAILURE_311), RawMqtt.subscribe(third, 4, 1, List.of("ansible/t/1", "ansible/t/2", "ansible/t/3")),
                        "and after a restart");
            }
        }
    }

    private static byte[] unsubscribe(int packetId, String filter) {
        byte[] text = filter.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] body = RawMqtt.concat(new byte[] {0, (byte) packetId, 0, (byte) text.length}, text);
        return RawMqtt.concat(new byte[] {(byte) 0xa2, (byte) body.length}, body);
    }

    /** Subscription queues on topics under {@code prefix} (a core address prefix, e.g. {@code ansible.p.}). */
    private static long subscriptionsUnder(FirehoseApp app, String prefix) {
        return app.broker().server().getPostOffice().getAllBindings()
                .filter(binding -> binding instanceof QueueBinding && binding.getAddress().toString().startsWith(prefix))
                .count();
    }
}
