package gerrit;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import publish.Topic;

/** What Firehose reads from one line of {@code gerrit stream-events}: its type and project, hence its topic. */
public record GerritEvent(String type, String project) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Parses a line; throws {@link NotAnEvent} when it is not a JSON object. */
    public static GerritEvent parse(byte[] line) throws NotAnEvent {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new NotAnEvent("not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new NotAnEvent("not JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new NotAnEvent("not a JSON object");
        }
        return new GerritEvent(text(node.get("type")), project(node));
    }

    /** {@code project}, else {@code change.project}, else {@code refUpdate.project}, else {@code projectName}. */
    private static String project(JsonNode event) {
        for (JsonNode candidate : new JsonNode[] {event.get("project"), event.path("change").get("project"),
                event.path("refUpdate").get("project"), event.get("projectName")}) {
            String name = candidate != null && candidate.isObject() ? text(candidate.get("name")) : text(candidate);
            if (name != null && !name.isEmpty()) {
                return name;
            }
        }
        return null;
    }

    private static String text(JsonNode node) {
        return node != null && node.isValueNode() && !node.isNull() ? node.asText() : null;
    }

    /** {@code <base>/<project>/<type>}, or {@code <base>/<type>} for an event without a project. */
    public String topic(String base) {
        return project == null ? Topic.of(base, type) : Topic.of(base, project, type);
    }

    /** A line of the stream that is not an event. */
    public static final class NotAnEvent extends Exception {
        public NotAnEvent(String reason) {
            super(reason, null, false, false);
        }
    }
}
