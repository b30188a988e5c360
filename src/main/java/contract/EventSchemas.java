package contract;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The bus's contract: the JSON Schema of each payload (under {@code schemas/} on the classpath, listed by
 * {@code schemas/index.json}) and the check of a published event against the one its source and type select.
 * Schemas are compiled once; {@link #check} is thread-safe and never throws for what a publisher sent.
 * Payloads are read with Jackson 3 ({@code tools.jackson}), the tree the validator works on, not the project's
 * Jackson 2 mapper: one parse per event.
 */
public final class EventSchemas {

    /** What {@code schemas/index.json} says of one schema file. */
    public record Entry(String file, String source, String type, String title, String summary) {
    }

    /**
     * The outcome of a check: {@code type} is the Gerrit event type (or "bug", "result", the $SYS name, ...), "other"
     * for anything without a schema of its own, so it can label a metric; {@code schema} the file under schemas/.
     */
    public record Verdict(String source, String type, String schema, List<String> problems) {
        public boolean valid() {
            return problems.isEmpty();
        }
    }

    static final String ROOT = "schemas/";
    static final String COMMON = "gerrit/common.json";
    static final int MAX_PROBLEMS = 5;
    private static final String GERRIT_FALLBACK = "gerrit/event.json";
    private static final String SYS_PREFIX = "$SYS/broker/";
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,400}");
    private static final JsonMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private final List<Entry> index;
    private final Map<String, Schema> schemas;
    private final Map<String, byte[]> files;
    /** Per source, the file of each type that has one. */
    private final Map<String, Map<String, String>> types;

    private EventSchemas(List<Entry> index, Map<String, Schema> schemas, Map<String, byte[]> files, Map<String, Map<String, String>> types) {
        this.index = index;
        this.schemas = schemas;
        this.files = files;
        this.types = types;
    }

    /** Reads the index and compiles every schema it lists; their relative {@code $ref}s resolve on the classpath only. */
    public static EventSchemas load() {
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                builder -> builder.schemaLoader(loader -> loader.fetchRemoteResources(false)));
        List<Entry> index = new ArrayList<>();
        for (JsonNode entry : JSON.readTree(resource("index.json"))) {
            index.add(new Entry(entry.get("file").asString(), entry.get("source").asString(), entry.get("type").asString(),
                    entry.get("title").asString(), entry.get("summary").asString()));
        }
        Map<String, Schema> schemas = new HashMap<>();
        Map<String, byte[]> files = new HashMap<>();
        Map<String, Map<String, String>> types = new HashMap<>();
        files.put(COMMON, resource(COMMON));
        for (Entry entry : index) {
            files.put(entry.file(), resource(entry.file()));
            Schema schema = registry.getSchema(SchemaLocation.of("classpath:" + ROOT + entry.file()));
            schema.initializeValidators(); // resolves every $ref now rather than on the first event
            schemas.put(entry.file(), schema);
            types.computeIfAbsent(entry.source(), source -> new HashMap<>()).put(entry.type(), entry.file());
        }
        return new EventSchemas(List.copyOf(index), Map.copyOf(schemas), Map.copyOf(files), Map.copyOf(types));
    }

    private static byte[] resource(String file) {
        try (InputStream in = EventSchemas.class.getClassLoader().getResourceAsStream(ROOT + file)) {
            if (in == null) {
                throw new IllegalStateException("no " + ROOT + file + " on the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Checks a payload published by {@code source} (gerrit, launchpad, subunit, zuul, ansible, sys) on {@code topic}. */
    public Verdict check(String source, String topic, byte[] payload) {
        if ("sys".equals(source)) {
            return sys(topic, payload);
        }
        Map<String, String> known = types.get(source);
        if (known == null) {
            return new Verdict("other", "other", null, List.of("no schema for source '" + printable(source) + "'"));
        }
        JsonNode event;
        try {
            event = JSON.readTree(payload);
        } catch (JacksonException e) {
            return new Verdict(source, typeBefore(source, known), null, List.of(shortened("not JSON: " + e.getOriginalMessage())));
        }
        if (event == null || event.isMissingNode()) {
            return new Verdict(source, typeBefore(source, known), null, List.of("not JSON: empty"));
        }
        String type = switch (source) {
            case "gerrit" -> event.path("type").isString() && known.containsKey(event.path("type").asString())
                    ? event.path("type").asString() : "other";
            case "launchpad" -> event.has("event-type") ? "bug" : "notification";
            case "subunit" -> "result";
            default -> "event";
        };
        String file = known.getOrDefault(type, source.equals("gerrit") ? GERRIT_FALLBACK : null);
        return validate(source, type, file, event);
    }

    /** The type to report for a payload that could not be read: the source's only one, else "other". */
    private static String typeBefore(String source, Map<String, String> known) {
        return known.size() == 1 ? known.keySet().iterator().next() : "other";
    }

    /** A $SYS payload is text: a counter's digits are checked as an integer, anything else as a string. */
    private Verdict sys(String topic, byte[] payload) {
        String name = topic != null && topic.startsWith(SYS_PREFIX) ? topic.substring(SYS_PREFIX.length()) : "";
        String file = types.get("sys").get(name);
        if (file == null) {
            return new Verdict("sys", "other", null, List.of("no schema for topic '" + printable(topic) + "'"));
        }
        String text = new String(payload, StandardCharsets.UTF_8);
        JsonNode value = INTEGER.matcher(text).matches()
                ? JsonNodeFactory.instance.numberNode(new BigInteger(text)) : JsonNodeFactory.instance.stringNode(text);
        return validate("sys", name, file, value);
    }

    private Verdict validate(String source, String type, String file, JsonNode value) {
        List<Error> errors = schemas.get(file).validate(value);
        if (errors.isEmpty()) {
            return new Verdict(source, type, file, List.of());
        }
        List<String> problems = new ArrayList<>();
        for (Error error : errors) {
            if (problems.size() == MAX_PROBLEMS) {
                break;
            }
            String at = error.getInstanceLocation().toString();
            problems.add(shortened((at.isEmpty() ? "/" : at) + ": " + error.getMessage()));
        }
        return new Verdict(source, type, file, List.copyOf(problems));
    }

    /** The schema files, as schemas/index.json lists them. */
    public List<Entry> index() {
        return index;
    }

    /**
     * A schema file's bytes for serving under /schemas/: a file the index lists, or the Gerrit definitions they
     * share; anything else (other paths, {@code ..}, absolute paths) is empty.
     */
    public Optional<byte[]> file(String path) {
        byte[] bytes = path == null ? null : files.get(path);
        return bytes == null ? Optional.empty() : Optional.of(bytes.clone());
    }

    /** A problem short enough for a log line: a message may quote a long token of the payload. */
    private static String shortened(String problem) {
        return problem.length() > 200 ? problem.substring(0, 200) + "…" : problem;
    }

    /** A name from outside, safe to put in a message: short, control characters replaced. */
    private static String printable(String text) {
        if (text == null) {
            return "";
        }
        String cut = text.length() > 80 ? text.substring(0, 80) + "…" : text;
        return cut.replaceAll("\\p{Cntrl}", "?");
    }
}
