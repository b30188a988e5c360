package cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import firehose.Await;
import firehose.FatJar;
import firehose.FirehoseApp;
import firehose.Subscriber;
import gerrit.FakeGerrit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three fat-jar processes in one cluster, one Gerrit stream: the leader's process is killed (SIGKILL, no shutdown),
 * another node opens the stream, the survivors' subscribers go on receiving each event once, and the killed node
 * comes back on its data and rejoins without taking the stream or doubling anything.
 */
class ClusterFailoverJarIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    /** The most a surviving node may take to open the dead leader's Gerrit stream (measured: 9.3 s). */
    private static final Duration TAKE_OVER_BOUND = Duration.ofSeconds(30);
    private static final Pattern LEADER = Pattern.compile("firehose_cluster_leader\\{route=\"review\",?} ([0-9.]+)");
    private static final Pattern NODES = Pattern.compile("firehose_cluster_nodes ([0-9.]+)");

    @TempDir
    Path dir;

    private final List<Node> nodes = new ArrayList<>();
    private final List<Subscriber> subscribers = new ArrayList<>();

    /** One node: its ports and directory stay the same across restarts. */
    private final class Node {
        final Path home;
        final List<String> options;
        final int mqtt = FirehoseApp.freePort();
        final int management = FirehoseApp.freePort();
        final int cluster;
        Process process;

        Node(int index, List<Integer> clusterPorts, int gerritPort, Path knownHosts) throws IOException {
            home = Files.createDirectories(dir.resolve("node" + index));
            cluster = clusterPorts.get(index);
            List<String> members = new ArrayList<>();
            for (int i = 0; i < clusterPorts.size(); i++) {
                if (i != index) {
                    members.add("127.0.0.1:" + clusterPorts.get(i));
                }
            }
            String review = "-Dcamel.route-template[review].";
            options = List.of("-Xmx256m", "-Dfirehose.broker.host=127.0.0.1", "-Dfirehose.broker.mqtt-port=" + mqtt,
                    "-Dfirehose.broker.ws-port=0", "-Dcamel.server.enabled=false", "-Dfirehose.broker.sys-interval=0",
                    "-Dcamel.management.port=" + management, "-Dcamel.management.host=127.0.0.1",
                    "-Dfirehose.cluster.port=" + cluster, "-Dfirehose.cluster.members=" + String.join(",", members),
                    "-Dfirehose.cluster.password=file:" + dir.resolve("cluster-password"),
                    "-Dcamel.cluster.file.enabled=true", "-Dcamel.cluster.file.root=" + dir.resolve("leader"),
                    review + "template-id=gerrit", review + "host=127.0.0.1", review + "port=" + gerritPort,
                    review + "username=" + FakeGerrit.USER,
                    review + "key-file=" + FakeGerrit.KEYS.resolve("id_ed25519").toAbsolutePath(),
                    review + "known-hosts=" + knownHosts, review + "max-backoff=2");
        }

        void start() throws IOException {
            process = FatJar.start(home, options);
        }

        String url() {
            return "tcp://127.0.0.1:" + mqtt;
        }

        /** A figure from /observe/metrics; -1 while it cannot be read. */
        double metric(Pattern pattern) {
            try {
                HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + management + "/observe/metrics")).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                Matcher matcher = pattern.matcher(response.body());
                return response.statusCode() == 200 && matcher.find() ? Double.parseDouble(matcher.group(1)) : -1;
            } catch (IOException e) {
                return -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        boolean leads() {
            return metric(LEADER) == 1;
        }
    }

    @AfterEach
    void stop() throws Exception {
        for (Subscriber subscriber : subscribers) {
            subscriber.close();
        }
        for (Node node : nodes) {
            if (node.process != null) {
                node.process.destroy();
                node.process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void the_leader_killed_another_node_takes_the_stream_and_nothing_is_doubled() throws Exception {
        Files.writeString(dir.resolve("cluster-password"), "jar-cluster-secret-9917\n");
        try (FakeGerrit gerrit = new FakeGerrit()) {
            Path knownHosts = gerrit.writeKnownHosts(dir.resolve("known_hosts"));
            List<Integer> clusterPorts = List.of(FirehoseApp.freePort(), FirehoseApp.freePort(), FirehoseApp.freePort());
            for (int i = 0; i < 3; i++) {
                nodes.add(new Node(i, clusterPorts, gerrit.port(), knownHosts));
            }
            for (Node node : nodes) {
                node.start();
            }
            for (Node node : nodes) {
                Await.until(WAIT, () -> node.metric(NODES) == 3, () -> "cluster not formed: " + FatJar.output(node.home));
            }
            Subscriber[] on = new Subscriber[3];
            for (int i = 0; i < 3; i++) {
                on[i] = subscribe(nodes.get(i));
            }
            gerrit.awaitOpened(1, WAIT);
            Node leader = awaitLeader(nodes);
            int next = 0;
            probe(gerrit, List.of(on));
            next = events(gerrit, List.of(on), next, 50);

            // the leader dies without a word: no shutdown hook, no lock released by it, no link closed by it
            long killed = System.nanoTime();
            leader.process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            List<Node> survivors = nodes.stream().filter(n -> n != leader).toList();
            List<Subscriber> surviving = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                if (nodes.get(i) != leader) {
                    surviving.add(on[i]);
                }
            }
            gerrit.awaitOpened(2, WAIT);
            double takeOver = (System.nanoTime() - killed) / 1e9;
            // reported (9.3 s here, README "Cluster": the leader's 3 missed 2 s heartbeats, then the next attempt), and
            // bounded: the sources are taken over within seconds, 30 at the most on a slow machine
            System.out.printf("fail-over: the Gerrit stream was opened again %.1f s after the leader was killed%n", takeOver);
            assertTrue(takeOver <= TAKE_OVER_BOUND.toSeconds(), String.format(
                    "the Gerrit stream was opened again %.1f s after the leader was killed, over %d s", takeOver, TAKE_OVER_BOUND.toSeconds()));
            Node newLeader = awaitLeader(survivors);
            assertTrue(survivors.contains(newLeader));
            probe(gerrit, surviving);
            next = events(gerrit, surviving, next, 50);

            // the killed node comes back on its data and rejoins; the stream stays where it is
            leader.start();
            for (Node node : nodes) {
                Await.until(WAIT, () -> node.metric(NODES) == 3, () -> "not rejoined: " + FatJar.output(node.home));
            }
            Subscriber back = subscribe(leader);
            List<Subscriber> all = new ArrayList<>(surviving);
            all.add(back);
            probe(gerrit, all);
            events(gerrit, all, next, 50);
            assertEquals(2, gerrit.opened(), "Gerrit streams opened: the first leader's and the one after it died");
            assertTrue(newLeader.leads());
            assertEquals(0, leader.metric(LEADER));
        }
    }

    private Subscriber subscribe(Node node) throws Exception {
        Subscriber subscriber = Subscriber.on(node.url(), "gerrit/#");
        subscribers.add(subscriber);
        return subscriber;
    }

    private static Node awaitLeader(List<Node> candidates) throws InterruptedException {
        Await.until(WAIT, () -> candidates.stream().filter(Node::leads).count() == 1, () -> "no single leader");
        return candidates.stream().filter(Node::leads).findFirst().orElseThrow();
    }

    /**
     * Sends probe events until each subscriber got one: the node holding the stream then knows their subscriptions
     * (a subscription made on one node reaches the others a moment later). Probes are left out of the counts.
     */
    private static void probe(FakeGerrit gerrit, List<Subscriber> subscribers) throws Exception {
        for (Subscriber subscriber : subscribers) {
            Await.until(WAIT, () -> {
                try {
                    gerrit.send("{\"type\":\"probe\"}");
                    Subscriber.Received received;
                    while ((received = subscriber.poll(Duration.ofMillis(200))) != null) {
                        if (received.topic().equals("gerrit/probe")) {
                            return true;
                        }
                    }
                    return false;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, () -> "no probe arrived");
        }
        for (Subscriber subscriber : subscribers) {
            while (subscriber.poll(Duration.ofMillis(300)) != null) {
                // the other probes
            }
        }
    }

    /** Sends {@code count} numbered events from {@code first}; each subscriber must get exactly those, in order. */
    private static int events(FakeGerrit gerrit, List<Subscriber> subscribers, int first, int count) throws Exception {
        for (int i = first; i < first + count; i++) {
            gerrit.send(FakeGerrit.changeEvent("comment-added", "nova", ",\"n\":" + i));
        }
        for (Subscriber subscriber : subscribers) {
            for (int i = first; i < first + count; i++) {
                Subscriber.Received received = subscriber.next(WAIT);
                while (received.topic().equals("gerrit/probe")) {
                    received = subscriber.next(WAIT);
                }
                assertEquals(FakeGerrit.changeEvent("comment-added", "nova", ",\"n\":" + i), received.payload());
            }
            Subscriber.Received extra = subscriber.poll(Duration.ofMillis(300));
            assertTrue(extra == null, "nothing more: " + extra);
        }
        return first + count;
    }
}
