package bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import history.HistorySettings;
import history.HistoryStore;
import org.apache.activemq.artemis.core.config.WildcardConfiguration;

/**
 * Fills a history store with N realistic events straight through JDBC (not through the bus): the schema first, by the
 * application's own Flyway migration ({@link HistoryStore#migrate()}), then plain batched INSERTs into {@code events},
 * then ANALYZE (PostgreSQL: VACUUM ANALYZE), as a store that has been running a while would have had. The application
 * must not hold an embedded H2 store while this runs (its file is locked).
 *
 * <p>Events: spread evenly over the last {@code --days} days up to now, ids as the broker makes them (16 hex digits of
 * received ms &lt;&lt; 22 | sequence, then 6 of the node), about 1 KiB of JSON each. Topics: 80% Gerrit
 * ({@code gerrit/<namespace>/<project>/<event>}, 50 OpenStack projects by a Zipf-like weight, nova the most frequent, a
 * few other namespaces), 10% Launchpad ({@code launchpad/<project>/bug/<bug>}), 10% Ansible
 * ({@code ansible/playbook/<uuid>/<what>}).
 *
 * <pre>
 * java -cp target/firehose.jar:target/bench-classes bench.HistoryFill --url jdbc:h2:file:DATA/history/events \
 *      [--user U --password P] [--events 1000000] [--days 10]
 * </pre>
 * The last line of output is {@code RESULT {json}}.
 */
public final class HistoryFill {

    static final String[] PROJECTS = {"nova", "neutron", "cinder", "keystone", "glance", "horizon", "swift", "heat",
        "ironic", "octavia", "manila", "designate", "barbican", "magnum", "placement", "kolla", "kolla-ansible",
        "openstack-ansible", "tripleo-heat-templates", "tempest", "devstack", "requirements", "oslo.messaging",
        "oslo.config", "python-novaclient", "python-openstackclient", "openstacksdk", "nova-specs", "neutron-lib",
        "ovn-octavia-provider", "ceilometer", "aodh", "trove", "zaqar", "sahara", "murano", "senlin", "watcher",
        "cyborg", "blazar", "masakari", "zun", "freezer", "mistral", "monasca-api", "storlets", "tacker", "vitrage",
        "openstack-manuals", "project-config"};
    static final String[][] OTHER_NAMESPACES = {{"starlingx", "config"}, {"starlingx", "stx-puppet"}, {"zuul", "zuul"},
        {"zuul", "nodepool"}, {"opendev", "system-config"}, {"x", "tobiko"}, {"airship", "treasuremap"}};
    static final String[] EVENTS = {"comment-added", "patchset-created", "ref-updated", "change-merged", "reviewer-added",
        "change-abandoned", "hashtags-changed", "wip-state-changed"};
    static final double[] EVENT_WEIGHTS = {0.50, 0.18, 0.10, 0.08, 0.08, 0.03, 0.02, 0.01};
    static final String NODE = "5eed01";

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        String url = args.get("url");
        String user = args.getOrDefault("user", "");
        String password = args.getOrDefault("password", "");
        int events = Integer.parseInt(args.getOrDefault("events", "1000000"));
        double days = Double.parseDouble(args.getOrDefault("days", "10"));
        boolean postgres = url.startsWith("jdbc:postgresql:");

        // the schema, as the application makes it
        Map<String, String> props = Map.of("firehose.history.url", url, "firehose.history.user", user, "firehose.history.password", password);
        try (HistoryStore store = new HistoryStore(HistorySettings.from(key -> Optional.ofNullable(props.get(key)), Path.of(".")),
                new WildcardConfiguration())) {
            store.migrate();
        }

        double[] projectWeights = new double[PROJECTS.length];
        for (int i = 0; i < PROJECTS.length; i++) {
            projectWeights[i] = 1 / Math.pow(i + 1, 0.8);
        }
        SplittableRandom random = new SplittableRandom(20261207);
        long now = System.currentTimeMillis() - 1_000;
        long span = (long) (days * 86_400_000L);
        long start = now - span;
        HexFormat hex = HexFormat.of();
        long lastStamp = 0;
        long nova = 0;
        long novaComments = 0;
        long began = System.nanoTime();
        String jdbc = postgres ? url + (url.contains("?") ? "&" : "?") + "reWriteBatchedInserts=true" : url;
        try (Connection connection = DriverManager.getConnection(jdbc, user, password)) {
            connection.setAutoCommit(false);
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO events (id, topic_key, topic, received, payload) VALUES (?, ?, ?, ?, ?)")) {
                for (int i = 0; i < events; i++) {
                    long received = start + (long) ((double) span * i / events);
                    long stamp = Math.max(lastStamp + 1, received << 22);
                    lastStamp = stamp;
                    String id = hex.toHexDigits(stamp) + NODE;
                    double kind = random.nextDouble();
                    String topic;
                    String payload;
                    if (kind < 0.80) {
                        String namespace;
                        String project;
                        if (random.nextDouble() < 0.9) {
                            namespace = "openstack";
                            project = PROJECTS[pick(random, projectWeights)];
                        } else {
                            String[] other = OTHER_NAMESPACES[random.nextInt(OTHER_NAMESPACES.length)];
                            namespace = other[0];
                            project = other[1];
                        }
                        String event = EVENTS[pick(random, EVENT_WEIGHTS)];
                        topic = "gerrit/" + namespace + "/" + project + "/" + event;
                        payload = gerrit(random, namespace + "/" + project, event, received);
                        if (namespace.equals("openstack") && project.equals("nova")) {
                            nova++;
                            novaComments += event.equals("comment-added") ? 1 : 0;
                        }
                    } else if (kind < 0.90) {
                        String project = PROJECTS[pick(random, projectWeights)];
                        int bug = 2_000_000 + random.nextInt(100_000);
                        topic = "launchpad/" + project + "/bug/" + bug;
                        payload = launchpad(random, project, bug, received);
                    } else {
                        String playbook = new java.util.UUID(random.nextLong(), random.nextLong()).toString();
                        String what = random.nextBoolean() ? "task" : "play";
                        topic = "ansible/playbook/" + playbook + "/" + what;
                        payload = ansible(random, playbook, what, received);
                    }
                    insert.setString(1, id);
                    insert.setString(2, topic.length() <= 256 ? topic : topic.substring(0, 256));
                    insert.setString(3, topic);
                    insert.setLong(4, received);
                    insert.setBytes(5, payload.getBytes(StandardCharsets.UTF_8));
                    insert.addBatch();
                    if ((i + 1) % 1_000 == 0 || i == events - 1) {
                        insert.executeBatch();
                        connection.commit();
                    }
                    if ((i + 1) % 200_000 == 0) {
                        System.out.printf(Locale.ROOT, "%,d events in %.1f s%n", i + 1, (System.nanoTime() - began) / 1e9);
                    }
                }
            }
            double fillSeconds = (System.nanoTime() - began) / 1e9;
            long analyzing = System.nanoTime();
            connection.setAutoCommit(true);
            try (Statement statement = connection.createStatement()) {
                statement.execute(postgres ? "VACUUM ANALYZE events" : "ANALYZE TABLE events");
            }
            double analyzeSeconds = (System.nanoTime() - analyzing) / 1e9;
            long count;
            try (Statement statement = connection.createStatement(); ResultSet row = statement.executeQuery("SELECT COUNT(*) FROM events")) {
                row.next();
                count = row.getLong(1);
            }
            System.out.printf(Locale.ROOT, "%,d events (%,d in the table) in %.1f s (%.0f/s), analyzed in %.1f s; %,d of openstack/nova, %,d of them comment-added%n",
                    events, count, fillSeconds, events / fillSeconds, analyzeSeconds, nova, novaComments);
            System.out.printf(Locale.ROOT, "RESULT {\"label\":\"%s\",\"events\":%d,\"rows\":%d,\"fill_seconds\":%.1f,\"analyze_seconds\":%.1f,"
                    + "\"nova\":%d,\"nova_comment_added\":%d,\"oldest_ms\":%d,\"newest_ms\":%d}%n",
                    args.getOrDefault("label", postgres ? "postgresql" : "h2"), events, count, fillSeconds, analyzeSeconds, nova, novaComments,
                    start, now);
        } catch (SQLException e) {
            throw new IllegalStateException("filling " + url + ": " + e.getMessage(), e);
        }
    }

    private static int pick(SplittableRandom random, double[] weights) {
        double total = 0;
        for (double w : weights) {
            total += w;
        }
        double at = random.nextDouble() * total;
        for (int i = 0; i < weights.length; i++) {
            at -= weights[i];
            if (at < 0) {
                return i;
            }
        }
        return weights.length - 1;
    }

    /** Text filling a payload up to about 1 KiB. */
    private static String padding(SplittableRandom random, int length) {
        String words = "Looks good to me, but someone else must approve. Recheck: the gate failed on an unrelated test. "
            + "Patch Set 3: Code-Review+1 Workflow+1 Verified+2 Build succeeded (check pipeline). ";
        StringBuilder text = new StringBuilder(Math.max(0, length));
        int offset = random.nextInt(words.length());
        while (text.length() < length) {
            text.append(words.charAt(offset++ % words.length()));
        }
        return text.toString();
    }

    static String gerrit(SplittableRandom random, String project, String event, long received) {
        int change = 800_000 + random.nextInt(150_000);
        int patchSet = 1 + random.nextInt(20);
        String head = String.format(Locale.ROOT,
            "{\"type\":\"%s\",\"change\":{\"project\":\"%s\",\"branch\":\"master\",\"id\":\"I%040x\",\"number\":%d,"
                + "\"subject\":\"Fix the scheduler's handling of a resize\",\"owner\":{\"name\":\"A Developer\",\"email\":\"dev%d@example.org\","
                + "\"username\":\"dev%d\"},\"url\":\"https://review.opendev.org/c/%s/+/%d\",\"status\":\"NEW\"},"
                + "\"patchSet\":{\"number\":%d,\"revision\":\"%040x\",\"ref\":\"refs/changes/%02d/%d/%d\",\"createdOn\":%d},"
                + "\"author\":{\"name\":\"Zuul\",\"username\":\"zuul\"},\"eventCreatedOn\":%d,\"comment\":\"",
            event, project, random.nextLong() & Long.MAX_VALUE, change, change % 997, change % 997, project, change, patchSet,
            random.nextLong() & Long.MAX_VALUE, change % 100, change, patchSet, received / 1000 - 3600, received / 1000);
        return head + padding(random, 1024 - head.length() - 2) + "\"}";
    }

    static String launchpad(SplittableRandom random, String project, int bug, long received) {
        String head = String.format(Locale.ROOT,
            "{\"project\":\"%s\",\"bug\":%d,\"title\":\"Instance stuck in BUILD after a compute restart\",\"status\":\"Triaged\","
                + "\"importance\":\"Medium\",\"url\":\"https://bugs.launchpad.net/%s/+bug/%d\",\"date\":%d,\"message\":\"",
            project, bug, project, bug, received / 1000);
        return head + padding(random, 1024 - head.length() - 2) + "\"}";
    }

    static String ansible(SplittableRandom random, String playbook, String what, long received) {
        String head = String.format(Locale.ROOT,
            "{\"playbook\":\"%s\",\"kind\":\"%s\",\"host\":\"node-%d\",\"status\":\"ok\",\"changed\":%b,\"time\":%d,\"result\":\"",
            playbook, what, random.nextInt(500), random.nextBoolean(), received / 1000);
        return head + padding(random, 1024 - head.length() - 2) + "\"}";
    }
}
