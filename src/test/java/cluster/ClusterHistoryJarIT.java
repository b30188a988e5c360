package cluster;

import static history.HistoryClient.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import firehose.Await;
import firehose.Clients;
import firehose.FatJar;
import firehose.FirehoseApp;
import firehose.Mqtt5Callbacks;
import firehose.Postgres;
import history.EventStreamClient;
import history.HistoryClient;
import history.HistoryClient.Event;
import org.apache.activemq.artemis.core.postoffice.impl.LocalQueueBinding;
import org.apache.activemq.artemis.core.server.cluster.RemoteQueueBinding;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The history in a cluster: every event recorded once, under the one id it got where it entered the bus, whichever
 * node is asked (one PostgreSQL shared by all nodes, or each node's embedded H2); and an MQTT 5 subscriber whose node
 * dies resumes on another node from the last {@code firehose-id} it received, missing nothing and receiving nothing
 * twice. A JarIT: the node that dies is the packaged jar, killed with SIGKILL.
 */
class ClusterHistoryJarIT {

    static final String PASSWORD = "cluster-history-secret-6120";
    static final Duration WAIT = Duration.ofSeconds(30);
    /** Every event the tests publish, oldest first. */
    static final String[] ALL = {"topic", "ansible/#", "order", "asc", "limit", "1000"};
    static final String ID = "firehose-id";
    private static final long CLIENT_WAIT_MILLIS = 20_000;

    enum Store { EMBEDDED, POSTGRES }

    @TempDir
    Path dir;

    private final List<FirehoseApp> nodes = new ArrayList<>();
    private final List<AutoCloseable> clients = new ArrayList<>();
    private Process jar;
    private Postgres postgres;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable client : clients) {
            client.close();
        }
        AssertionError failed = null;
        for (FirehoseApp node : nodes) { // every node stops, even when one's close fails
            try {
                node.close();
            } catch (AssertionError e) {
                failed = failed == null ? e : failed;
            }
        }
        if (jar != null) {
            jar.destroyForcibly();
            jar.waitFor(30, TimeUnit.SECONDS);
        }
        if (postgres != null) {
            postgres.close(); // after the nodes: none is left writing to it
        }
        if (failed != null) {
            throw failed;
        }
    }

    @Test
    void with_one_postgresql_each_event_of_each_node_is_stored_once_and_every_node_answers_the_same() throws Exception {
        postgres = Postgres.start(dir.resolve("postgres"));
        List<FirehoseApp.Builder> builders = ClusterIT.cluster(dir, 3, PASSWORD);
        builders.forEach(this::sharedStore);
        for (FirehoseApp.Builder builder : builders) {
            nodes.add(builder.start());
        }
        awaitLinked();
        // a catch-up stream on each node, open before anything is published: each sees the whole bus
        List<EventStreamClient> streams = new ArrayList<>();
        for (FirehoseApp node : nodes) {
            EventStreamClient stream = EventStreamClient.open(node.httpUrl(), "/events?topic=ansible/history/%23");
            clients.add(stream);
            assertEquals(200, stream.status());
            streams.add(stream);
        }

        int perNode = 100;
        List<String> published = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            published.addAll(publish(nodes.get(i), i + 1, 0, perNode));
        }
        int total = published.size();
        Await.until(WAIT, () -> distinctIds() >= total, () -> "distinct ids in PostgreSQL: " + distinctIds());
        // every node has written whatever it was to write: a second copy of an event under another id would be there now
        awaitSettled();
        try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
             Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT count(*), count(DISTINCT id) FROM events")) {
            assertTrue(rows.next());
            assertEquals(total, rows.getLong(1), "rows in PostgreSQL");
            assertEquals(total, rows.getLong(2), "distinct ids in PostgreSQL");
        }

        List<Event> first = history(nodes.get(0), ALL);
        assertEquals(sorted(published), sorted(keys(first)), "the events node 1 answers, each once");
        assertInArrivalOrder(first);
        for (int i = 1; i < nodes.size(); i++) {
            assertEquals(ids(first), ids(history(nodes.get(i), ALL)), "the ids node " + (i + 1) + " answers, and their order");
        }

        Map<String, String> publisherOf = new HashMap<>();
        first.forEach(event -> publisherOf.put(event.id(), "node" + event.payload().path("node").asInt()));
        for (int i = 0; i < streams.size(); i++) {
            List<String> streamed = streams.get(i).take(total, WAIT).stream().map(EventStreamClient.Message::id).toList();
            assertEquals(new TreeSet<>(ids(first)), new TreeSet<>(streamed), "the events node " + (i + 1) + "'s stream sent");
            assertEquals(total, streamed.size(), "node " + (i + 1) + "'s stream sent each event once");
            for (String publisher : List.of("node1", "node2", "node3")) {
                List<String> mine = streamed.stream().filter(id -> publisher.equals(publisherOf.get(id))).toList();
                assertEquals(mine.stream().sorted().toList(), mine, "node " + (i + 1) + "'s stream, the events of " + publisher + " in order");
            }
        }
        // a client cut off from one node resumes on another (as behind the Service) from its last id: the rest, in order,
        // then live what is published meanwhile on another node, with no seam
        String last = ids(first).get(149);
        try (EventStreamClient resumed = EventStreamClient.open(nodes.get(2).httpUrl(), "/events?topic=ansible/history/%23",
                "Last-Event-ID", last)) {
            List<String> replayed = resumed.take(total - 150, WAIT).stream().map(EventStreamClient.Message::id).toList();
            assertEquals(ids(first).subList(150, total), replayed);
            List<String> more = publish(nodes.get(0), 1, perNode, 20);
            List<EventStreamClient.Message> live = resumed.take(20, WAIT);
            assertEquals(more, live.stream().map(message -> key(message.data())).toList(), "the live events after the replay, in order");
            assertTrue(live.get(0).id().compareTo(replayed.get(replayed.size() - 1)) > 0, "after the replayed ones");
            assertNull(resumed.poll(Duration.ofMillis(500)), "nothing more");
        }
        for (int i = 0; i < streams.size(); i++) {
            List<String> streamed = streams.get(i).take(20, WAIT).stream().map(message -> key(message.data())).toList();
            assertEquals(publishedLater(perNode), streamed, "node " + (i + 1) + "'s stream, the later events");
            assertNull(streams.get(i).poll(Duration.ofMillis(200)), "node " + (i + 1) + "'s stream sent nothing more");
        }
    }

    private static List<String> publishedLater(int from) {
        return IntStream.range(from, from + 20).mapToObj(n -> "1:" + n).toList();
    }

    /** {@code node:n} of an event as a stream sends it. */
    private static String key(String data) {
        try {
            JsonNode payload = new ObjectMapper().readTree(data).path("payload");
            return payload.path("node").asInt() + ":" + payload.path("n").asInt();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void with_the_embedded_store_each_node_keeps_every_event_from_when_it_joined_under_the_same_ids() throws Exception {
        List<FirehoseApp.Builder> builders = ClusterIT.cluster(dir, 3, PASSWORD);
        nodes.add(builders.get(0).start());
        nodes.add(builders.get(1).start());
        awaitJoined();
        List<String> early = new ArrayList<>();
        early.addAll(publish(nodes.get(0), 1, 0, 50));
        early.addAll(publish(nodes.get(1), 2, 0, 50));

        nodes.add(builders.get(2).start());
        awaitJoined();
        List<String> late = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            late.addAll(publish(nodes.get(i), i + 1, 50, 50));
        }
        List<String> all = new ArrayList<>(early);
        all.addAll(late);
        for (FirehoseApp node : nodes) {
            List<String> expected = node == nodes.get(2) ? late : all;
            Await.until(WAIT, () -> keys(history(node, ALL)).containsAll(expected), () -> "the history of " + node.tcpUrl() + ": "
                    + lacking(node, expected));
        }
        awaitSettled();

        List<Event> first = history(nodes.get(0), ALL);
        assertEquals(sorted(all), sorted(keys(first)), "the events node 1 keeps, each once");
        assertInArrivalOrder(first);
        assertEquals(ids(first), ids(history(nodes.get(1), ALL)), "the ids node 2 keeps, and their order");
        List<Event> third = history(nodes.get(2), ALL);
        Set<String> lateOnly = new HashSet<>(late);
        assertTrue(keys(third).containsAll(late), "node 3 keeps what was published once it had joined");
        assertEquals(ids(first.stream().filter(e -> lateOnly.contains(key(e))).toList()),
                ids(third.stream().filter(e -> lateOnly.contains(key(e))).toList()), "the ids node 3 keeps, and their order");
        assertEquals(new HashSet<>(ids(third)).size(), third.size(), "node 3 keeps each event once");
        assertTrue(ids(first).containsAll(ids(third)), "node 3 keeps no event under an id of its own");
    }

    /**
     * Node A is a process of its own, killed (SIGKILL) while a publisher on node B goes on; its MQTT 5 subscriber moves
     * to B, subscribes there, and fills the gap from B's history, after the last {@code firehose-id} it received.
     */
    @ParameterizedTest
    @EnumSource(Store.class)
    void a_subscriber_whose_node_dies_resumes_on_another_from_the_history_without_gap_or_duplicate(Store store) throws Exception {
        String topic = "ansible/resume/build";
        String filter = "ansible/resume/#";
        String fence = "ansible/resume/fence";
        if (store == Store.POSTGRES) {
            postgres = Postgres.start(dir.resolve("postgres"));
        }
        int clusterA = FirehoseApp.freePort();
        int clusterB = FirehoseApp.freePort();
        Path homeA = Files.createDirectories(dir.resolve("node-a"));
        int mqttA = FirehoseApp.freePort();
        jar = FatJar.start(homeA, nodeA(homeA, mqttA, clusterA, clusterB, store)); // first: it takes longest to start
        FirehoseApp.Builder builderB = FirehoseApp.builder(dir.resolve("node-b"))
                .set("firehose.cluster.port", String.valueOf(clusterB))
                .set("firehose.cluster.members", "127.0.0.1:" + clusterA)
                .set("firehose.cluster.password", PASSWORD);
        if (store == Store.POSTGRES) {
            sharedStore(builderB);
        }
        FirehoseApp b = builderB.start();
        nodes.add(b);
        Await.until(Duration.ofSeconds(60), () -> b.broker().linkedNodes() == 1, () -> "node A not linked: " + FatJar.output(homeA));

        Resuming onA = track(Resuming.on("tcp://127.0.0.1:" + mqttA, filter));
        MqttClient fencing = Clients.publisher(b.tcpUrl());
        clients.add(() -> Clients.close(fencing));
        // the subscription on A is known on B once an event published on B reaches it
        Await.until(WAIT, () -> {
            try {
                Clients.publish(fencing, fence, "fence", 1, false);
            } catch (org.eclipse.paho.client.mqttv3.MqttException e) {
                throw new IllegalStateException(e);
            }
            return onA.fences.get() > 0;
        }, () -> "node B does not route to the subscriber on node A");

        Numbered publisher = new Numbered(b.tcpUrl(), topic);
        clients.add(publisher);
        Await.until(WAIT, () -> onA.received.size() >= 50, () -> "received on A: " + onA.received.size());
        jar.destroyForcibly(); // no shutdown: nothing closed, flushed or handed over by A
        assertTrue(jar.waitFor(30, TimeUnit.SECONDS), "node A still running");
        int atKill = publisher.published.get();
        Await.until(WAIT, () -> !onA.client.isConnected(), () -> "the subscriber on A still connected");
        List<Delivered> before = List.copyOf(onA.received);
        // events published while the subscriber has no node: only the history has them
        Await.until(WAIT, () -> publisher.published.get() >= atKill + 100, () -> "published since A died: " + (publisher.published.get() - atKill));

        Resuming onB = track(Resuming.on(b.tcpUrl(), filter)); // subscribed before asking: what the history has not yet, arrives live
        Await.until(WAIT, () -> !onB.received.isEmpty(), () -> "nothing live on B");
        String firstLive = onB.received.get(0).id();
        String last = before.get(before.size() - 1).id();
        List<Event> fromHistory = new ArrayList<>();
        Await.until(WAIT, () -> {
            String after = fromHistory.isEmpty() ? last : fromHistory.get(fromHistory.size() - 1).id();
            fromHistory.addAll(history(b, "topic", filter, "after", after, "limit", "1000"));
            return !fromHistory.isEmpty() && fromHistory.get(fromHistory.size() - 1).id().compareTo(firstLive) >= 0;
        }, () -> "B's history does not reach the first live event " + firstLive + ": " + fromHistory.size() + " events after " + last);
        int total = publisher.stop();
        Await.until(WAIT, () -> onB.received.stream().anyMatch(d -> d.n() == total - 1), () -> "the last event not received live on B");
        List<Delivered> live = List.copyOf(onB.received);

        Set<Integer> beforeNumbers = numbers(before);
        assertEquals(IntStream.range(0, before.size()).boxed().toList(), before.stream().map(Delivered::n).toList(),
                "received on A: every event from the first on, in order");
        assertIdsIncrease(before, "on A");
        assertIdsIncrease(live, "live on B");
        List<Integer> historyNumbers = fromHistory.stream().map(e -> e.payload().path("n").asInt()).toList();
        assertEquals(new HashSet<>(historyNumbers).size(), historyNumbers.size(), "the history answered an event twice: " + historyNumbers);
        Set<Integer> twice = new TreeSet<>(historyNumbers);
        twice.retainAll(beforeNumbers);
        assertEquals(Set.of(), twice, "the history answered events received before the last id " + last);
        assertFalse(fromHistory.isEmpty(), "the history filled no gap");
        Set<Integer> missing = IntStream.range(0, total).boxed().collect(Collectors.toCollection(TreeSet::new));
        missing.removeAll(beforeNumbers);
        missing.removeAll(historyNumbers);
        missing.removeAll(numbers(live));
        assertEquals(Set.of(), missing, "of " + total + " events, in none of what A delivered (up to " + before.size()
                + "), the history after " + last + " (" + historyNumbers.size() + ") and what B delivers live (from " + live.get(0).n() + ")");
        assertTrue(historyNumbers.stream().allMatch(n -> n < total) && live.stream().allMatch(d -> d.n() < total), "events never published");

        // one id per event, on every node: what A delivered, what B delivers and what B recorded
        String[] numbered = {"topic", topic, "order", "asc", "limit", "1000"};
        Await.until(WAIT, () -> history(b, numbered).size() >= total, () -> "events B recorded: " + history(b, numbered).size() + " of " + total);
        Map<Integer, String> idOf = new HashMap<>();
        for (Event event : history(b, numbered)) {
            assertNull(idOf.put(event.payload().path("n").asInt(), event.id()), "recorded twice: " + event);
        }
        assertEquals(total, idOf.size(), "events B recorded");
        for (Delivered delivered : before) {
            assertEquals(idOf.get(delivered.n()), delivered.id(), "the id A delivered for event " + delivered.n());
        }
        for (Delivered delivered : live) {
            assertEquals(idOf.get(delivered.n()), delivered.id(), "the id B delivered for event " + delivered.n());
        }
    }

    /** The options of node A's process (as in ClusterFailoverJarIT), with its history in {@code store}. */
    private List<String> nodeA(Path home, int mqtt, int cluster, int other, Store store) throws IOException {
        Files.writeString(dir.resolve("cluster-password"), PASSWORD + "\n");
        // C1 only: the node starts a few seconds sooner, and carries a few hundred events a second at most here
        List<String> options = new ArrayList<>(List.of("-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dfirehose.broker.host=127.0.0.1",
                "-Dfirehose.broker.data-dir=" + home.resolve("data"), "-Dfirehose.broker.mqtt-port=" + mqtt,
                "-Dfirehose.broker.ws-port=0", "-Dcamel.server.enabled=false", "-Dfirehose.broker.sys-interval=0",
                "-Dcamel.management.port=" + FirehoseApp.freePort(), "-Dcamel.management.host=127.0.0.1",
                "-Dfirehose.cluster.port=" + cluster, "-Dfirehose.cluster.members=127.0.0.1:" + other,
                "-Dfirehose.cluster.password=file:" + dir.resolve("cluster-password")));
        if (store == Store.POSTGRES) {
            Files.writeString(dir.resolve("postgres-password"), postgres.password() + "\n");
            options.addAll(List.of("-Dfirehose.history.url=" + postgres.jdbcUrl(), "-Dfirehose.history.user=" + postgres.user(),
                    "-Dfirehose.history.password=file:" + dir.resolve("postgres-password")));
        }
        return options;
    }

    private void sharedStore(FirehoseApp.Builder builder) {
        builder.set("firehose.history.url", postgres.jdbcUrl()).set("firehose.history.user", postgres.user())
                .set("firehose.history.password", postgres.password());
    }

    private void awaitLinked() throws InterruptedException {
        for (FirehoseApp node : nodes) {
            Await.until(WAIT, () -> node.broker().linkedNodes() == nodes.size() - 1, () -> "links of a node: " + node.broker().linkedNodes());
        }
    }

    /** Linked, and each node knows the others' history subscriptions: from now on every event reaches every history. */
    private void awaitJoined() throws InterruptedException {
        awaitLinked();
        for (FirehoseApp node : nodes) {
            Await.until(WAIT, () -> historySubscriptions(node) == nodes.size() - 1,
                    () -> "history subscriptions of other nodes known to " + node.tcpUrl() + ": " + remoteBindings(node));
        }
    }

    /** The other nodes' history subscriptions this node knows of (Artemis' remote queue bindings). */
    private static long historySubscriptions(FirehoseApp node) {
        return remoteBindings(node).stream().filter(name -> name.startsWith("firehose.history")).count();
    }

    private static List<String> remoteBindings(FirehoseApp node) {
        return node.broker().server().getPostOffice().getAllBindings().filter(RemoteQueueBinding.class::isInstance)
                .map(binding -> binding.getUniqueName().toString()).toList();
    }

    /**
     * Nothing left on its way to a history: on every node the history subscription is empty (the recorder acknowledges
     * a batch once the store has committed it) and so is every link's store-and-forward queue.
     */
    private void awaitSettled() throws InterruptedException {
        for (FirehoseApp node : nodes) {
            Await.until(WAIT, () -> pending(node).isEmpty(), () -> "events on their way on " + node.tcpUrl() + ": " + pending(node));
        }
    }

    private static Map<String, Long> pending(FirehoseApp node) {
        return node.broker().server().getPostOffice().getAllBindings().filter(LocalQueueBinding.class::isInstance)
                .map(binding -> ((LocalQueueBinding) binding).getQueue())
                .filter(queue -> queue.getName().toString().startsWith("firehose.history") || queue.getName().toString().startsWith("$.artemis.internal.sf."))
                .filter(queue -> queue.getMessageCount() > 0)
                .collect(Collectors.toMap(queue -> queue.getName().toString(), queue -> queue.getMessageCount()));
    }

    private long distinctIds() {
        try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
             Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT count(DISTINCT id) FROM events")) {
            return rows.next() ? rows.getLong(1) : 0;
        } catch (java.sql.SQLException notYet) {
            return -1; // the first node has not created the table yet
        }
    }

    /** Publishes {@code {"node":node,"n":from}} … at QoS 1 as the publisher account; their keys. */
    private static List<String> publish(FirehoseApp on, int node, int from, int count) throws Exception {
        MqttClient publisher = Clients.publisher(on.tcpUrl());
        List<String> keys = new ArrayList<>();
        try {
            for (int n = from; n < from + count; n++) {
                Clients.publish(publisher, "ansible/history/node" + node, "{\"node\":" + node + ",\"n\":" + n + "}", 1, false);
                keys.add(node + ":" + n);
            }
        } finally {
            Clients.close(publisher);
        }
        return keys;
    }

    /** Every event a history query answers, page after page ({@code next}). */
    static List<Event> history(FirehoseApp node, String... namesAndValues) {
        try {
            return new HistoryClient(node.httpUrl()).all("/history" + HistoryClient.query(namesAndValues));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code node:n} of the payloads published here. */
    private static String key(Event event) {
        return event.payload().path("node").asInt() + ":" + event.payload().path("n").asInt();
    }

    /** How much of {@code expected} a node's history holds, and what it lacks by publishing node. */
    private static String lacking(FirehoseApp node, List<String> expected) {
        Set<String> held = new HashSet<>(keys(history(node, ALL)));
        Map<String, Long> missing = expected.stream().filter(key -> !held.contains(key))
                .collect(Collectors.groupingBy(key -> "node" + key.substring(0, key.indexOf(':')), TreeMap::new, Collectors.counting()));
        return (expected.size() - missing.values().stream().mapToLong(Long::longValue).sum()) + " of " + expected.size()
                + " events; missing, by the node they were published on: " + missing;
    }

    private static List<String> keys(List<Event> events) {
        return events.stream().map(ClusterHistoryJarIT::key).toList();
    }

    private static List<String> sorted(List<String> keys) {
        return keys.stream().sorted().toList();
    }

    /** Ids sort in arrival order: each publisher's events, in id order, are in the order it published them. */
    private static void assertInArrivalOrder(List<Event> events) {
        Map<Integer, Integer> last = new HashMap<>();
        for (Event event : events) {
            int node = event.payload().path("node").asInt();
            int n = event.payload().path("n").asInt();
            Integer previous = last.put(node, n);
            assertTrue(previous == null || previous < n, "event " + key(event) + " sorts after " + node + ":" + previous);
        }
    }

    private static Set<Integer> numbers(List<Delivered> delivered) {
        return delivered.stream().map(Delivered::n).collect(Collectors.toCollection(TreeSet::new));
    }

    private static void assertIdsIncrease(List<Delivered> delivered, String where) {
        for (Delivered one : delivered) {
            assertNotNull(one.id(), "event " + one.n() + " " + where + " came without " + ID);
            assertTrue(one.id().matches("[0-9a-f]{22}"), "event " + one.n() + " " + where + ": " + ID + " " + one.id());
        }
        for (int i = 1; i < delivered.size(); i++) {
            assertTrue(delivered.get(i - 1).id().compareTo(delivered.get(i).id()) < 0,
                    "ids " + where + " out of order: " + delivered.get(i - 1) + " then " + delivered.get(i));
        }
    }

    private <T extends AutoCloseable> T track(T client) {
        clients.add(client);
        return client;
    }

    /** A numbered event as an MQTT 5 subscriber got it: its number and its {@code firehose-id}. */
    record Delivered(int n, String id) {
    }

    /** An MQTT 5 subscriber (clean start) that keeps each numbered event it receives, in order, and counts fences. */
    static final class Resuming extends Mqtt5Callbacks implements AutoCloseable {
        final MqttAsyncClient client;
        final List<Delivered> received = new CopyOnWriteArrayList<>();
        final AtomicInteger fences = new AtomicInteger();

        private Resuming(String url) throws MqttException {
            client = new MqttAsyncClient(url, Clients.id("resuming"), null);
            client.setCallback(this);
        }

        static Resuming on(String url, String filter) throws MqttException {
            Resuming subscriber = new Resuming(url);
            MqttConnectionOptions options = new MqttConnectionOptions();
            options.setCleanStart(true);
            options.setAutomaticReconnect(false);
            options.setConnectionTimeout(10);
            options.setKeepAliveInterval(5);
            subscriber.client.connect(options).waitForCompletion(CLIENT_WAIT_MILLIS);
            IMqttToken subscribed = subscriber.client.subscribe(filter, 1);
            subscribed.waitForCompletion(CLIENT_WAIT_MILLIS);
            assertTrue(subscribed.getReasonCodes()[0] < 0x80, "subscription refused: " + subscribed.getReasonCodes()[0]);
            return subscriber;
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) throws IOException {
            if (topic.endsWith("/fence")) {
                fences.incrementAndGet();
                return;
            }
            // asserted by the test, not here: Paho would take a failure for the connection's
            String id = message.getProperties().getUserProperties().stream().filter(p -> p.getKey().equals(ID))
                    .map(UserProperty::getValue).findFirst().orElse(null);
            received.add(new Delivered(HistoryClient.JSON.readTree(message.getPayload()).path("n").asInt(), id));
        }

        @Override
        public void close() throws MqttException {
            if (client.isConnected()) {
                client.disconnect(2_000).waitForCompletion(CLIENT_WAIT_MILLIS);
            }
            client.close(true);
        }
    }

    /** Publishes {@code {"n":0}}, {@code {"n":1}}, … at QoS 1 on its own thread until stopped, a few hundred a second. */
    static final class Numbered implements AutoCloseable {
        final AtomicInteger published = new AtomicInteger();
        private final AtomicReference<Exception> failure = new AtomicReference<>();
        private final MqttClient client;
        private final Thread thread;
        private volatile boolean running = true;

        Numbered(String url, String topic) throws org.eclipse.paho.client.mqttv3.MqttException {
            client = Clients.publisher(url);
            thread = new Thread(() -> {
                try {
                    while (running) {
                        Clients.publish(client, topic, "{\"n\":" + published.get() + "}", 1, false);
                        published.incrementAndGet(); // acknowledged (Paho's publish returns on the PUBACK)
                        Thread.sleep(3); // a rate, not a synchronisation
                    }
                } catch (Exception e) {
                    failure.set(e);
                }
            }, "numbered-publisher");
            thread.start();
        }

        /** Stops; how many events were published (and acknowledged), numbered from 0. */
        int stop() throws InterruptedException {
            running = false;
            thread.join(WAIT.toMillis());
            assertFalse(thread.isAlive(), "the publisher does not stop");
            assertNull(failure.get(), "the publisher failed: " + failure.get());
            return published.get();
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(WAIT.toMillis());
            Clients.close(client);
        }
    }
}
