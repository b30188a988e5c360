package subunit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import publish.Topic;

/**
 * One run's event: the gearman worker's {@code build_uuid}, {@code source_url}, {@code status}, every
 * metadata field the job gave, and the summary; published on {@code <base>/<worker>/<project>/<build_change>}.
 */
public final class SubunitEvent {

    /** Fields the summary computes; a job may not set them. */
    public static final Set<String> COMPUTED = Set.of("status", "tests", "duration_seconds", "run_at", "failures");

    private static final ObjectMapper JSON = new ObjectMapper();
    /** ISO 8601 UTC to the microsecond, subunit's precision. */
    private static final DateTimeFormatter RUN_AT = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

    private SubunitEvent() {
    }

    /** Checks job metadata: a JSON object of fields, none of them one the summary computes. */
    public static ObjectNode metadata(JsonNode fields) {
        if (fields == null || !fields.isObject()) {
            throw new IllegalArgumentException("metadata must be a JSON object, not " + (fields == null ? "nothing" : fields.getNodeType().name().toLowerCase()));
        }
        for (Iterator<String> names = fields.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (COMPUTED.contains(name)) {
                throw new IllegalArgumentException("'" + name + "' is computed from the stream; the job may not set it");
            }
        }
        return ((ObjectNode) fields).deepCopy();
    }

    /** Metadata from query parameters (all values strings). */
    public static ObjectNode metadata(Map<String, String> parameters) {
        ObjectNode fields = JsonNodeFactory.instance.objectNode();
        parameters.forEach(fields::put);
        return metadata(fields);
    }

    public static ObjectNode build(ObjectNode metadata, SubunitSummary summary) {
        ObjectNode event = JsonNodeFactory.instance.objectNode();
        event.set("build_uuid", metadata.get("build_uuid"));
        event.set("source_url", metadata.get("source_url"));
        event.put("status", summary.status());
        event.setAll(metadata);
        if (event.get("build_uuid") == null) {
            event.putNull("build_uuid");
        }
        if (event.get("source_url") == null) {
            event.putNull("source_url");
        }
        ObjectNode tests = event.putObject("tests");
        tests.put("total", summary.total());
        tests.put("passed", summary.passed());
        tests.put("failed", summary.failed());
        tests.put("skipped", summary.skipped());
        tests.put("xfail", summary.xfail());
        tests.put("uxsuccess", summary.uxsuccess());
        event.put("duration_seconds", summary.durationSeconds());
        if (summary.runAt() != null) {
            event.put("run_at", RUN_AT.format(summary.runAt()));
        } else {
            event.putNull("run_at");
        }
        summary.failures().forEach(event.putArray("failures")::add);
        return event;
    }

    public static String topic(String base, String worker, ObjectNode metadata) {
        return Topic.of(base, worker, text(metadata, "project"), text(metadata, "build_change"));
    }

    /**
     * Identity of an input for publishing it once: its metadata and what the stream held (bytes, packets, results).
     * The same stream with the same metadata sent again is the same event.
     */
    public static String key(ObjectNode metadata, SubunitSummary summary) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(JSON.writeValueAsBytes(sorted(metadata)));
            digest.update((summary.bytes() + "/" + summary.packets() + "/" + summary.fingerprint()).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode sorted(ObjectNode node) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        node.properties().stream().map(Map.Entry::getKey).sorted().forEach(name -> out.set(name, node.get(name)));
        return out;
    }

    private static String text(ObjectNode metadata, String field) {
        JsonNode value = metadata.get(field);
        return value == null || value.isNull() ? null : value instanceof TextNode t ? t.textValue() : value.toString();
    }
}
