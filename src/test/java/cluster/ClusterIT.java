package cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongPredicate;
import java.util.stream.Collectors;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LeaderElection;
import firehose.LogCapture;
import firehose.RawMqtt;
import gerrit.FakeGerrit;
import firehose.Subscriber;
import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.message.impl.CoreMessage;
import org.apache.activemq.artemis.core.postoffice.Bindings;
import org.apache.activemq.artemis.core.server.RoutingContext;
import org.apache.activemq.artemis.core.server.cluster.RemoteQueueBinding;
import org.apache.activemq.artemis.core.server.impl.RoutingContextImpl;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three Firehose nodes in one Artemis cluster on loopback: each subscriber sees every event of every node once. */
class ClusterIT {

    static final String PASSWORD = "cluster-secret-5531";
    static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private final List<FirehoseApp> nodes = new ArrayList<>();
    private final List<AutoCloseable> clients = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable client : clients) {
            client.close();
        }
        nodes.forEach(FirehoseApp::close);
    }

    /** Builders of {@code count} nodes that list each other as members. */
    static List<FirehoseApp.Builder> cluster(Path dir, int count, String password) {
        return cluster(dir, count, password, false);
    }

    /** With {@code shared}: every node gets the same list, itself included (as from one ConfigMap). */
    static List<FirehoseApp.Builder> cluster(Path dir, int count, String password, boolean shared) {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ports.add(FirehoseApp.freePort());
        }
        List<FirehoseApp.Builder> builders = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            List<String> others = new ArrayList<>();
            for (int j = 0; j < count; j++) {
                if (j != i || shared) {
                    others.add("127.0.0.1:" + ports.get(j));
                }
            }
            builders.add(FirehoseApp.builder(dir.resolve("node" + (i + 1)))
                    .set("firehose.cluster.port", String.valueOf(ports.get(i)))
                    .set("firehose.cluster.members", String.join(",", others))
                    .set("firehose.cluster.password", password));
        }
        return builders;
    }

    private void startAll(List<FirehoseApp.Builder> builders) throws InterruptedException {
        for (FirehoseApp.Builder builder : builders) {
            nodes.add(builder.start());
        }
        for (FirehoseApp node : nodes) {
            Await.until(WAIT, () -> node.broker().linkedNodes() == nodes.size() - 1, () -> "links of a node: " + node.broker().linkedNodes());
        }
    }

    /** The subscriptions of other nodes this node knows of (Artemis' remote queue bindings). */
    static long remoteSubscriptions(FirehoseApp node) {
        return node.broker().remoteSubscriptions();
    }

    @Test
    void a_publisher_on_one_node_reaches_subscribers_on_the_others_once_and_in_order() throws Exception {
        startAll(cluster(dir, 3, PASSWORD));
        FirehoseApp node1 = nodes.get(0);
        FirehoseApp node2 = nodes.get(1);
        FirehoseApp node3 = nodes.get(2);
        long before = remoteSubscriptions(node2);
        Subscriber wildcard1 = track(Subscriber.on(node1.tcpUrl(), "ansible/#"));
        Subscriber exact3 = track(Subscriber.on(node3.tcpUrl(), "ansible/deploy/web"));
        Subscriber plus3 = track(Subscriber.on(node3.wsUrl(), "ansible/+/web"));
        Subscriber all3 = track(Subscriber.on(node3.tcpUrl(), "#"));
        Await.until(WAIT, () -> remoteSubscriptions(node2) >= before + 4, () -> "node 2 knows " + remoteSubscriptions(node2));

        MqttClient publisher = Clients.connect(node2.tcpUrl(), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD);
        clients.add(publisher::disconnect);
        int events = 200;
        for (int i = 0; i < events; i++) {
            Clients.publish(publisher, "ansible/deploy/web", "{\"n\":" + i + "}", 1, false);
        }
        for (Subscriber subscriber : List.of(wildcard1, exact3, plus3, all3)) {
            for (int i = 0; i < events; i++) {
                Subscriber.Received received = subscriber.next(WAIT);
                assertEquals("ansible/deploy/web", received.topic());
                assertEquals("{\"n\":" + i + "}", received.payload());
            }
        }
        // nothing twice: a marker published last is the next and only thing each one gets
        Clients.publish(publisher, "ansible/deploy/web", "end", 1, false);
        for (Subscriber subscriber : List.of(wildcard1, exact3, plus3, all3)) {
            assertEquals("end", subscriber.next(WAIT).payload());
            assertNull(subscriber.poll(Duration.ofMillis(300)));
        }

        // an unsubscribe on node 3 is known on node 2 at once: nothing more is sent there for it
        exact3.client().unsubscribe("ansible/deploy/web");
        Await.until(WAIT, () -> remoteSubscriptions(node2) == before + 3, () -> "node 2 knows " + remoteSubscriptions(node2));
        Clients.publish(publisher, "ansible/deploy/web", "after", 1, false);
        assertEquals("after", all3.next(WAIT).payload());
        assertNull(exact3.poll(Duration.ofMillis(300)));
    }

    @Test
    void every_subscription_reaches_the_other_nodes_however_small_the_subscriber_backlog() throws Exception {
        // a node learns the others' subscriptions from Artemis' notifications: they must never be trimmed like a backlog
        List<FirehoseApp.Builder> builders = cluster(dir, 2, PASSWORD);
        builders.forEach(b -> b.set("firehose.broker.subscriber-backlog", "1"));
        startAll(builders);
        long before = remoteSubscriptions(nodes.get(0));
        int count = 40;
        for (int i = 0; i < count; i++) {
            track(Subscriber.on(nodes.get(1).tcpUrl(), "ansible/#"));
        }
        Await.until(WAIT, () -> remoteSubscriptions(nodes.get(0)) == before + count,
                () -> "node 1 knows " + (remoteSubscriptions(nodes.get(0)) - before) + " of " + count);
    }

    @Test
    void an_event_for_many_subscribers_of_another_node_carries_their_ids_written_once_and_reaches_each_once() throws Exception {
        // without the history, whose subscription on each node is one more remote subscription, known at its own time
        startAll(cluster(dir, 2, PASSWORD).stream().map(node -> node.set("firehose.history.enabled", "false")).toList());
        FirehoseApp publishing = nodes.get(0);
        FirehoseApp other = nodes.get(1);
        String topic = "ansible/deploy/web";
        long before = remoteSubscriptions(publishing);
        int count = 300;
        List<Socket> subscribers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Socket socket = RawMqtt.subscriber(other.port("mqtt"), "many-" + i, 0, topic, 0);
            clients.add(socket);
            subscribers.add(socket);
        }
        Await.until(WAIT, () -> remoteSubscriptions(publishing) == before + count,
                () -> "node 1 knows " + (remoteSubscriptions(publishing) - before) + " of " + count);

        // what the publishing node routes: every remote subscription's id once, in one write (Artemis wrote them one
        // at a time, each write copying all the ids before it: 4·N² bytes per event)
        SimpleString address = SimpleString.of(topic.replace('/', '.')); // Artemis' name of the topic
        Bindings list = publishing.broker().server().getPostOffice().lookupBindingsForAddress(address);
        Set<Long> remote = list.getBindings().stream().filter(RemoteQueueBinding.class::isInstance)
                .map(binding -> ((RemoteQueueBinding) binding).getRemoteQueueID()).collect(Collectors.toSet());
        assertEquals(count, remote.size());
        RouteIdWrites message = new RouteIdWrites();
        message.setAddress(address);
        RoutingContext context = new RoutingContextImpl(null);
        list.route(message, context);
        assertEquals(1, message.writes, "writes of the remote subscriptions' ids");
        List<Long> ids = message.ids();
        assertEquals(count, ids.size(), "ids written");
        assertEquals(remote, new HashSet<>(ids));
        assertEquals(1, context.getQueueCount(), "one queue: the one towards the other node");

        // and a real event reaches each of them once
        try (Socket publisher = RawMqtt.publisher(publishing.port("mqtt"), "many-publisher", FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)) {
            publisher.getOutputStream().write(RawMqtt.publish(topic, "{\"n\":1}".getBytes(StandardCharsets.UTF_8)));
            publisher.getOutputStream().write(RawMqtt.publish(topic, "end".getBytes(StandardCharsets.UTF_8)));
            for (Socket subscriber : subscribers) {
                assertEquals(List.of("{\"n\":1}", "end"), RawMqtt.payloadsUntil(subscriber, "end"));
            }
        }
    }

    /** A message that counts how often routing writes the ids of remote subscriptions into it. */
    private static final class RouteIdWrites extends CoreMessage {

        int writes;
        private SimpleString header;

        @Override
        public Message putExtraBytesProperty(SimpleString key, byte[] value) {
            if (key.startsWith(Message.HDR_ROUTE_TO_IDS)) {
                writes++;
                header = key;
            }
            return super.putExtraBytesProperty(key, value);
        }

        List<Long> ids() {
            List<Long> ids = new ArrayList<>();
            ByteBuffer buffer = ByteBuffer.wrap(getExtraBytesProperty(header));
            while (buffer.hasRemaining()) {
                ids.add(buffer.getLong());
            }
            return ids;
        }
    }

    @Test
    void an_upload_to_any_node_reaches_subscribers_on_the_others() throws Exception {
        List<FirehoseApp.Builder> builders = cluster(dir, 2, PASSWORD);
        for (int i = 0; i < builders.size(); i++) {
            builders.get(i).set("firehose.subunit.worker", "node" + (i + 1)).set("camel.cluster.file.enabled", "true")
                    .set("camel.cluster.file.root", dir.resolve("leader").toString());
        }
        startAll(builders);
        long before = remoteSubscriptions(nodes.get(1));
        Subscriber results = track(Subscriber.on(nodes.get(0).tcpUrl(), "gearman-subunit/#"));
        Await.until(WAIT, () -> remoteSubscriptions(nodes.get(1)) > before, () -> "node 2 does not know the subscriber");
        // uploads are not a shared input: the node that is not the leader takes them too
        for (FirehoseApp node : nodes) {
            HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(node.httpUrl() + "/subunit?project=nova&build_change=1")).timeout(WAIT)
                    .POST(HttpRequest.BodyPublishers.ofFile(Path.of("src/test/resources/subunit/successful.subunit"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode(), response.body());
            assertEquals("gearman-subunit/" + node.property("firehose.subunit.worker") + "/nova/1", results.next(WAIT).topic());
        }
    }

    @Test
    void health_and_metrics_show_the_cluster_per_node() throws Exception {
        startAll(cluster(dir, 3, PASSWORD, true)); // one list for all, each node in it: each leaves itself out
        for (FirehoseApp node : nodes) {
            String metrics = node.http("/observe/metrics").body();
            assertTrue(metrics.contains("firehose_cluster_nodes 3.0"), metrics);
            HttpResponse<String> health = node.http("/observe/health?data=true");
            assertEquals(200, health.statusCode(), health.body());
            assertTrue(health.body().contains("\"nodes.linked\": 2") || health.body().contains("\"nodes.linked\":2"), health.body());
        }
        // $SYS per node: sys_stays_on_the_node_that_publishes_it
        nodes.get(2).close();
        Await.until(WAIT, () -> nodes.get(0).broker().linkedNodes() == 1, () -> "node 3 still counted");
        assertTrue(nodes.get(0).http("/observe/metrics").body().contains("firehose_cluster_nodes 2.0"));
        assertEquals(200, nodes.get(0).http("/observe/health").statusCode(), "a node that lost another stays UP");
    }

    @Test
    void sys_stays_on_the_node_that_publishes_it() throws Exception {
        List<FirehoseApp.Builder> builders = cluster(dir, 2, PASSWORD);
        builders.forEach(b -> b.set("firehose.broker.sys-interval", "1"));
        startAll(builders);
        FirehoseApp a = nodes.get(0);
        FirehoseApp b = nodes.get(1);
        // B's $SYS/broker/clients/total told from A's: B has counted this many connections more
        int more = 25;
        for (int i = 0; i < more; i++) {
            RawMqtt.connected(b.port("mqtt"), 4, "counted-" + i, true).close();
        }
        long bFloor = b.broker().server().getTotalConnectionCount();
        assertOwnSysOnly(a, b, total -> total < bFloor, "ansible/fence-a");
        assertOwnSysOnly(b, a, total -> total >= bFloor, "ansible/fence-b");
        long aNow = a.broker().server().getTotalConnectionCount();
        assertTrue(aNow < bFloor, "A counted " + aNow + " connections, B at least " + bFloor + ": their figures were not told apart");
    }

    /**
     * A subscriber on {@code node} to {@code $SYS/#} gets that node's figures ({@code own}: its clients/total) and none of
     * {@code other}'s, though {@code other} published them after it knew of the subscriber: a fence published on
     * {@code other} after one of its rounds comes after anything of that round that crossed the (one, ordered) link.
     */
    private void assertOwnSysOnly(FirehoseApp node, FirehoseApp other, LongPredicate own, String fence) throws Exception {
        long before = remoteSubscriptions(other);
        Subscriber here = track(Subscriber.on(node.tcpUrl(), "$SYS/#").subscribe(fence, 1));
        // the other node learns of the fence's subscription after the $SYS one's, had that been announced (one client, one link)
        Await.until(WAIT, () -> remoteSubscriptions(other) >= before + 1, () -> "the other node knows " + remoteSubscriptions(other));
        try (Subscriber there = Subscriber.on(other.tcpUrl(), "$SYS/broker/clients/total")) {
            long total = Long.parseLong(there.next(WAIT).payload()); // a round the other node published since
            assertFalse(own.test(total), "the other node's figure " + total + " looks like this node's: the test cannot tell them apart");
        }
        Clients.publishOnce(other.tcpUrl(), fence, "fence");
        List<Long> totals = new ArrayList<>();
        Subscriber.Received received;
        while (!(received = here.next(WAIT)).topic().equals(fence)) {
            assertTrue(received.topic().startsWith("$SYS/broker/"), received.toString());
            if (received.topic().equals("$SYS/broker/clients/total")) {
                totals.add(Long.parseLong(received.payload()));
            }
        }
        while (totals.isEmpty()) { // the node's own round after the fence, if none came before it
            received = here.next(WAIT);
            if (received.topic().equals("$SYS/broker/clients/total")) {
                totals.add(Long.parseLong(received.payload()));
            }
        }
        assertTrue(totals.stream().allMatch(own::test), "the other node's $SYS reached a subscriber here: clients/total " + totals);
        assertEquals(before + 1, remoteSubscriptions(other), "the other node knows the fence's subscription, not the $SYS/# one");
    }

    @Test
    void an_anonymous_publish_is_refused_on_every_node_and_reaches_no_one() throws Exception {
        startAll(cluster(dir, 3, PASSWORD));
        long before = remoteSubscriptions(nodes.get(2));
        Subscriber all1 = track(Subscriber.on(nodes.get(0).tcpUrl(), "#"));
        Subscriber all2 = track(Subscriber.on(nodes.get(1).tcpUrl(), "#"));
        Await.until(WAIT, () -> remoteSubscriptions(nodes.get(2)) >= before + 2, () -> "node 3 knows " + remoteSubscriptions(nodes.get(2)));

        MqttClient anonymous = Clients.connect(nodes.get(2).tcpUrl(), null, null);
        // a refused QoS 1 publish is acknowledged as usual (MQTT 3.1.1 has no negative PUBACK) and goes nowhere
        Clients.publish(anonymous, "ansible/deploy/web", "forged", 1, false);
        Clients.close(anonymous);
        MqttClient publisher = Clients.connect(nodes.get(2).tcpUrl(), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD);
        clients.add(publisher::disconnect);
        Clients.publish(publisher, "ansible/deploy/web", "genuine", 1, false);
        for (Subscriber subscriber : List.of(all1, all2)) {
            assertEquals("genuine", subscriber.next(WAIT).payload()); // the forged one, sent first, would come first
        }
    }

    @Test
    void a_node_with_another_password_does_not_join_and_the_others_go_on() throws Exception {
        List<FirehoseApp.Builder> builders = cluster(dir, 3, PASSWORD);
        builders.get(2).set("firehose.cluster.password", "not-the-password");
        try (LogCapture log = LogCapture.open()) {
            startAll(builders.subList(0, 2));
            FirehoseApp intruder = builders.get(2).start();
            nodes.add(intruder);
            Await.until(WAIT, () -> log.lines().stream().anyMatch(l -> l.text().contains("another node refused its firehose.cluster.password")),
                    () -> "no log line about the password");
            assertTrue(intruder.broker().clusterRefused());
            Subscriber onIntruder = track(Subscriber.on(intruder.tcpUrl(), "#"));
            long before = remoteSubscriptions(nodes.get(1));
            Subscriber on1 = track(Subscriber.on(nodes.get(0).tcpUrl(), "#"));
            Await.until(WAIT, () -> remoteSubscriptions(nodes.get(1)) >= before + 1, () -> "node 2 knows " + remoteSubscriptions(nodes.get(1)));
            MqttClient publisher = Clients.connect(nodes.get(1).tcpUrl(), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD);
            clients.add(publisher::disconnect);
            Clients.publish(publisher, "ansible/deploy/web", "members only", 1, false);
            assertEquals("members only", on1.next(WAIT).payload());
            assertNull(onIntruder.poll(Duration.ofSeconds(1)));
            assertEquals(1, nodes.get(0).broker().linkedNodes());
            assertEquals(1, nodes.get(1).broker().linkedNodes());
            assertEquals(0, intruder.broker().linkedNodes());
            assertFalse(nodes.get(0).broker().clusterRefused());
            assertFalse(nodes.get(1).broker().clusterRefused());
            assertTrue(log.lines().stream().noneMatch(l -> l.text().contains(PASSWORD) || l.text().contains("not-the-password")));
        }
    }

    @Test
    void one_node_holds_the_gerrit_stream_and_every_subscriber_gets_each_event_once_in_order() throws Exception {
        try (FakeGerrit gerrit = new FakeGerrit()) {
            Path knownHosts = gerrit.writeKnownHosts(dir.resolve("known_hosts"));
            List<FirehoseApp.Builder> builders = cluster(dir, 3, PASSWORD);
            for (FirehoseApp.Builder builder : builders) {
                withGerrit(builder, gerrit.port(), knownHosts).set("camel.cluster.file.enabled", "true")
                        .set("camel.cluster.file.root", dir.resolve("leader").toString());
            }
            startAll(builders);
            List<Subscriber> subscribers = new ArrayList<>();
            for (FirehoseApp node : nodes) {
                subscribers.add(track(Subscriber.on(node.tcpUrl(), "gerrit/#")));
            }
            gerrit.awaitOpened(1, WAIT);
            FirehoseApp leader = awaitLeader("gerrit-127.0.0.1-" + gerrit.port());
            // the leader's node must know of every subscription before the events go out
            Await.until(WAIT, () -> remoteSubscriptions(leader) >= 2, () -> "the leader knows " + remoteSubscriptions(leader));

            int events = 100;
            for (int i = 0; i < events; i++) {
                gerrit.send(FakeGerrit.changeEvent("comment-added", "nova", ",\"n\":" + i));
            }
            for (Subscriber subscriber : subscribers) {
                for (int i = 0; i < events; i++) {
                    Subscriber.Received received = subscriber.next(WAIT);
                    assertEquals("gerrit/nova/comment-added", received.topic());
                    assertEquals(FakeGerrit.changeEvent("comment-added", "nova", ",\"n\":" + i), received.payload());
                }
                assertNull(subscriber.poll(Duration.ofMillis(300)));
            }
            assertEquals(1, gerrit.opened(), "SSH connections to Gerrit");
            assertEquals(1, nodes.stream().filter(n -> LeaderElection.leads(n.context(), "gerrit-127.0.0.1-" + gerrit.port())).count());
        }
    }

    /** The node that leads {@code namespace}, once one does. */
    private FirehoseApp awaitLeader(String namespace) throws InterruptedException {
        Await.until(WAIT, () -> nodes.stream().anyMatch(n -> LeaderElection.leads(n.context(), namespace)), () -> "no leader of " + namespace);
        return nodes.stream().filter(n -> LeaderElection.leads(n.context(), namespace)).findFirst().orElseThrow();
    }

    static FirehoseApp.Builder withGerrit(FirehoseApp.Builder builder, int port, Path knownHosts) {
        String prefix = "camel.route-template[review].";
        return builder.set(prefix + "template-id", "gerrit")
                .set(prefix + "host", "127.0.0.1")
                .set(prefix + "port", String.valueOf(port))
                .set(prefix + "username", FakeGerrit.USER)
                .set(prefix + "key-file", FakeGerrit.KEYS.resolve("id_ed25519").toAbsolutePath().toString())
                .set(prefix + "known-hosts", knownHosts.toString())
                .set(prefix + "max-backoff", "2");
    }

    private Subscriber track(Subscriber subscriber) {
        clients.add(subscriber);
        return subscriber;
    }
}
