package contract;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

/**
 * The AsyncAPI 3.0.0 document of the bus ({@code GET /asyncapi.yaml}): a server per open listener, a channel per topic
 * family of the sources and the broker, a message per schema of {@code schemas/index.json}, and a {@code receive}
 * operation per channel (the public only receives).
 *
 * <p>Payload schemas: the files are JSON Schema draft 2020-12, and AsyncAPI 3.0 names no schema format for it (its
 * list has {@code application/schema+json;version=draft-07}). AsyncAPI's parser accepts any {@code schemaFormat} string
 * but checks only the ones it knows, and generators and Studio understand the AsyncAPI Schema Object (a superset of
 * draft-07) best. So each file is bundled into {@code components.schemas} as a Schema Object, in the default format, with
 * its {@code $schema} (2020-12) kept: the document stands alone (no fetch of {@code /schemas/...} while parsing, offline
 * tools work), the parser checks every schema's structure, and a keyword draft-07 lacks ({@code $defs},
 * {@code unevaluatedProperties}, ...) is one a draft-07 reader ignores, reading the schema more loosely, never
 * wrongly. {@link SchemaBundle} says what the bundling rewrites; the files themselves are served as they are under
 * {@code /schemas/}, and each message names its file ({@code x-firehose-schema}).
 */
public final class AsyncApiDocument {

    /** What the document says of one broker listener; {@code name} is {@code EmbeddedBroker}'s. */
    public record Listener(String name, String protocol, String pathname, String description) {
    }

    /** The broker's client listeners in the order servers are listed. */
    public static final List<Listener> LISTENERS = List.of(
            new Listener("mqtt", "mqtt", null, "MQTT 3.1, 3.1.1 and 5 over TCP."),
            new Listener("mqtt-tls", "secure-mqtt", null, "MQTT 3.1, 3.1.1 and 5 over TLS."),
            new Listener("mqtt-ws", "ws", "/mqtt",
                    "MQTT 3.1.1 and 5 over WebSocket (subprotocols mqtt, mqttv3.1); any path is accepted, /mqtt by convention."),
            new Listener("mqtt-wss", "wss", "/mqtt",
                    "MQTT 3.1.1 and 5 over secure WebSocket (subprotocols mqtt, mqttv3.1); any path is accepted, /mqtt by convention."));

    /**
     * What the document describes: the host clients connect to, the open listeners' ports (by {@link Listener#name}), the
     * base topic of each Gerrit server and Launchpad mailbox, the subunit base topic and worker level, and the seconds
     * between $SYS updates (0: none).
     */
    public record Bus(String host, Map<String, Integer> ports, List<String> gerritTopics, List<String> launchpadTopics,
            String subunitTopic, String subunitWorker, int sysInterval) {
    }

    private static final String SCHEMAS = "/schemas/";
    private static final String PUBLISHING = " Anyone may subscribe, anonymously; publishing needs an account (a user name and"
            + " password given by the bus' operators) confined to its topics, and every other publish is refused.";
    private static final String LEVELS = " A level that comes from event data never holds +, # or NUL: they are"
            + " percent-encoded (%2B, %23, %00), and % itself as %25.";

    private final ObjectMapper json;
    private final ObjectMapper yaml;
    private final List<EventSchemas.Entry> index;
    private final Map<String, ObjectNode> schemas;
    private final String version;

    /** Bundles the schemas once: {@code files} gives a schema file's bytes by its path under {@code schemas/}. */
    public AsyncApiDocument(ObjectMapper json, List<EventSchemas.Entry> index, Function<String, Optional<byte[]>> files, String version) {
        this.json = json;
        this.yaml = new ObjectMapper(YAMLFactory.builder()
                .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                .disable(YAMLGenerator.Feature.SPLIT_LINES)
                .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
                .build());
        this.index = List.copyOf(index);
        this.schemas = SchemaBundle.of(json, index.stream().map(EventSchemas.Entry::file).toList(), files);
        this.version = version;
    }

    public AsyncApiDocument(ObjectMapper json, EventSchemas schemas, String version) {
        this(json, schemas.index(), schemas::file, version);
    }

    /** The document as YAML. */
    public String yaml(Bus bus) {
        try {
            return yaml.writeValueAsString(tree(bus));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The document as a tree (what {@link #yaml} writes). */
    public ObjectNode tree(Bus bus) {
        ObjectNode document = json.createObjectNode();
        document.put("asyncapi", "3.0.0");
        ObjectNode info = document.putObject("info");
        info.put("title", "Firehose");
        info.put("version", version);
        info.put("description", "A public, read-only MQTT event bus: code review events (Gerrit), bug updates (Launchpad),"
                + " test results (subunit), CI reports (Zuul) and deployment runs (Ansible) as JSON on predictable topics,"
                + " and the broker's statistics under $SYS/broker/." + PUBLISHING + LEVELS
                + " Each payload's JSON Schema (draft 2020-12) is also served on the HTTP port under " + SCHEMAS + ".");
        document.put("defaultContentType", "application/json");
        servers(document.putObject("servers"), bus);
        Channels channels = new Channels(document.putObject("channels"), document.putObject("operations"));
        ObjectNode components = document.putObject("components");
        channelsOfTheBus(channels, bus);
        messages(components.putObject("messages"));
        components.set("schemas", json.valueToTree(schemas));
        return document;
    }

    private void servers(ObjectNode servers, Bus bus) {
        for (Listener listener : LISTENERS) {
            int port = bus.ports().getOrDefault(listener.name(), 0);
            if (port <= 0) {
                continue;
            }
            ObjectNode server = servers.putObject(listener.name());
            server.put("host", hostAndPort(bus.host(), port));
            server.put("protocol", listener.protocol());
            server.put("protocolVersion", "5");
            if (listener.pathname() != null) {
                server.put("pathname", listener.pathname());
            }
            server.put("description", listener.description() + PUBLISHING);
        }
    }

    private static String hostAndPort(String host, int port) {
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    private void channelsOfTheBus(Channels channels, Bus bus) {
        List<String> gerritMessages = keys("gerrit");
        for (String base : orDefault(bus.gerritTopics(), "gerrit")) {
            String id = channels.id("gerrit", base);
            channels.add(id, base + "/{namespace}/{repo}/{event}", "Gerrit events by project",
                    "The events of a Gerrit server (gerrit stream-events), each line published byte for byte as Gerrit sent it,"
                            + " on <base>/<project>/<event type>, base " + base + ". The project is the event's project, else"
                            + " change.project, else refUpdate.project, else projectName. Its slashes stay, so each part of the"
                            + " project is one topic level: openstack/nova is {namespace}/{repo}"
                            + " (" + base + "/openstack/nova/comment-added); a project a/b/c spans three levels"
                            + " (" + base + "/a/b/c/comment-added) and a project without a slash one"
                            + " (" + base + "/All-Projects/ref-updated); an event without any project goes to " + base + "/{event}."
                            + " Subscribe with " + base + "/# for everything, " + base + "/+/+/comment-added for one event type of"
                            + " two-level projects." + LEVELS,
                    parameters("namespace", "The first level of the project, e.g. openstack (a project without a slash: the"
                                    + " whole project, and {repo} is then the event type).",
                            "repo", "The rest of the project, e.g. nova; one level or more (a/b/c: b/c).",
                            "event", "The Gerrit event type, e.g. patchset-created, comment-added, change-merged, ref-updated."),
                    gerritMessages);
            channels.add(id + "-without-project", base + "/{event}", "Gerrit events without a project",
                    "Gerrit events that name no project (for example dropped-output), on " + base + "/<event type>.",
                    parameters("event", "The Gerrit event type, e.g. dropped-output."),
                    gerritMessages);
        }
        for (String base : orDefault(bus.launchpadTopics(), "launchpad")) {
            String id = channels.id("launchpad", base);
            channels.add(id, base + "/{project}/bug/{bug}", "Launchpad bug notifications",
                    "Launchpad bug mail as lpmqtt published it, on " + base + "/<project>/bug/<bug number>"
                            + " (" + base + "/nova/bug/1905297). The topic is filled from the left and cut at the first missing"
                            + " part: " + base + "/<project>/bug without a bug number, " + base + "/<project> or " + base
                            + " without a project. Mail about a private bug is never published." + LEVELS,
                    parameters("project", "The first bug task's product, else its distribution, e.g. nova.",
                            "bug", "The bug number, e.g. 1905297."),
                    keys("launchpad", "bug"));
            channels.add(id + "-notifications", base + "/{project}", "Other Launchpad notifications",
                    "Launchpad mail that is not a bug notification, on " + base + "/<project> (" + base + " without a project).",
                    parameters("project", "The first bug task's product, else its distribution."),
                    keys("launchpad", "notification"));
        }
        String subunit = bus.subunitTopic();
        channels.add(channels.id("subunit", subunit), subunit + "/{worker}/{project}/{change}", "Subunit test run results",
                "One event per subunit v2 test run (inbox file, POST /subunit or POST /subunit/jobs), with the run's summary,"
                        + " on " + subunit + "/<worker>/<project>/<build_change>, e.g. " + subunit + "/firehose01/openstack/nova/123456."
                        + " The project's slashes stay, so openstack/nova fills two levels, as in the Gerrit topics; the topic is"
                        + " cut at the first missing part (no build_change: " + subunit + "/<worker>/<project>)." + LEVELS,
                parameters("worker", "The worker that published the result (firehose.subunit.worker, else its host name),"
                                + " here " + bus.subunitWorker() + "; each node of a cluster has its own.",
                        "project", "The job's project, e.g. openstack/nova: one level per part of the name.",
                        "change", "The job's build_change, e.g. 123456."),
                keys("subunit"));
        channels.add("zuul", "zuul/{pipeline}/{project}/{branch}/{change}", "Zuul reports",
                "What Zuul's MQTT reporter publishes, passed on unchanged. Zuul chooses the topic under zuul/ (its reporter's"
                        + " topic setting); this is the usual one, and project and branch may span several levels. Subscribe with"
                        + " zuul/#." + PUBLISHING,
                parameters("pipeline", "The Zuul pipeline, e.g. check or gate.",
                        "project", "The project, e.g. openstack/nova.",
                        "branch", "The branch, e.g. master.",
                        "change", "The change number."),
                keys("zuul"));
        channels.add("ansible", "ansible/playbook/{uuid}/{event}", "Ansible playbook runs",
                "What an Ansible MQTT callback plugin publishes under ansible/playbook/<playbook uuid>/..., passed on"
                        + " unchanged. Subscribe with ansible/playbook/<uuid>/# for one run, ansible/# for all." + PUBLISHING,
                parameters("uuid", "The playbook run's uuid.",
                        "event", "The rest of the topic, one level or more, as the plugin writes it (play, task, host and"
                                + " status)."),
                keys("ansible"));
        if (bus.sysInterval() > 0) {
            for (EventSchemas.Entry entry : entries("sys")) {
                String topic = "$SYS/broker/" + entry.type();
                channels.add("sys." + entry.type().replace('/', '.'), topic, entry.title(),
                        entry.summary() + " Published by the broker as plain text every " + bus.sysInterval()
                                + " s (firehose.broker.sys-interval), not retained, as Mosquitto's $SYS/broker tree; read it"
                                + " with $SYS/broker/# (# alone does not match $SYS topics).",
                        null, List.of(SchemaBundle.key(entry.file())));
            }
        }
    }

    private void messages(ObjectNode messages) {
        for (EventSchemas.Entry entry : index) {
            String key = SchemaBundle.key(entry.file());
            ObjectNode message = messages.putObject(key);
            message.put("name", key);
            message.put("title", entry.title());
            message.put("summary", entry.summary());
            boolean text = entry.source().equals("sys");
            message.put("contentType", text ? "text/plain" : "application/json");
            message.put("description", (text ? "A plain-text value; the schema describes what the text holds (digits: an integer)."
                    : "A JSON document.") + " Its JSON Schema (draft 2020-12): " + SCHEMAS + entry.file() + " on the HTTP port.");
            message.putObject("payload").put("$ref", SchemaBundle.POINTER + key);
            message.put("x-firehose-schema", SCHEMAS + entry.file());
        }
    }

    private List<EventSchemas.Entry> entries(String source) {
        return index.stream().filter(entry -> entry.source().equals(source)).toList();
    }

    /** The message keys of a source's schemas (of the given types, else all). */
    private List<String> keys(String source, String... types) {
        Set<String> wanted = Set.of(types);
        return entries(source).stream().filter(entry -> wanted.isEmpty() || wanted.contains(entry.type()))
                .map(entry -> SchemaBundle.key(entry.file())).toList();
    }

    private static List<String> orDefault(List<String> topics, String fallback) {
        Set<String> distinct = new LinkedHashSet<>(topics == null ? List.of() : topics);
        distinct.removeIf(topic -> topic == null || topic.isBlank());
        return distinct.isEmpty() ? List.of(fallback) : List.copyOf(distinct);
    }

    private Map<String, String> parameters(String... nameThenDescription) {
        Map<String, String> parameters = new LinkedHashMap<>();
        for (int i = 0; i < nameThenDescription.length; i += 2) {
            parameters.put(nameThenDescription[i], nameThenDescription[i + 1]);
        }
        return parameters;
    }

    /** The channels and their receive operations, as they are added. */
    private final class Channels {
        private final ObjectNode channels;
        private final ObjectNode operations;
        private final Set<String> ids = new LinkedHashSet<>();

        Channels(ObjectNode channels, ObjectNode operations) {
            this.channels = channels;
            this.operations = operations;
        }

        /** A channel id for a base topic: the family's name for its default base, else one made from the base. */
        String id(String family, String base) {
            String id = base.equals(family) || base.equals("gearman-subunit") ? family
                    : family + "-" + base.replaceAll("[^A-Za-z0-9_.-]", "_");
            String unique = id;
            for (int n = 2; ids.contains(unique) || ids.contains(unique + "-without-project")
                    || ids.contains(unique + "-notifications"); n++) {
                unique = id + "-" + n;
            }
            return unique;
        }

        void add(String id, String address, String title, String description, Map<String, String> parameters, List<String> messages) {
            ids.add(id);
            ObjectNode channel = channels.putObject(id);
            channel.put("address", address);
            channel.put("title", title);
            channel.put("description", description);
            ObjectNode refs = channel.putObject("messages");
            for (String message : messages) {
                refs.putObject(message).put("$ref", "#/components/messages/" + message);
            }
            if (parameters != null && !parameters.isEmpty()) {
                ObjectNode params = channel.putObject("parameters");
                parameters.forEach((name, text) -> params.putObject(name).put("description", text));
            }
            ObjectNode operation = operations.putObject("receive-" + id);
            operation.put("action", "receive");
            operation.put("title", "Receive: " + title.substring(0, 1).toLowerCase() + title.substring(1));
            operation.put("summary", "Subscribe (anonymously) to " + address.replaceAll("\\{[^}]+}", "+")
                    + " or a wider filter.");
            operation.putObject("channel").put("$ref", "#/channels/" + id);
            List<ObjectNode> list = new ArrayList<>();
            for (String message : messages) {
                list.add(json.createObjectNode().put("$ref", "#/channels/" + id + "/messages/" + message));
            }
            operation.putArray("messages").addAll(list);
        }
    }

    /** The document's version: the jar's, or {@code dev} from the classes. */
    public static String version() {
        return Objects.requireNonNullElse(AsyncApiDocument.class.getPackage().getImplementationVersion(), "dev");
    }
}
