package gerrit;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;

import publish.Topic;

/** What Firehose reads from one line of {@code gerrit stream-events}: its type and project, hence its topic. */
public record GerritEvent(String type, String project) {

    private static final JsonFactory JSON = new JsonFactory();

    /**
     * Parses a line; throws {@link NotAnEvent} when it is not a JSON object. Streams through the whole line (so
     * broken JSON is refused) but keeps only the fields the topic needs: no tree is built for a 1 MiB event.
     */
    public static GerritEvent parse(byte[] line) throws NotAnEvent {
        String type = null;
        String project = null;
        String changeProject = null;
        String refUpdateProject = null;
        String projectName = null;
        try (JsonParser json = JSON.createParser(line)) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                throw new NotAnEvent("not a JSON object");
            }
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String field = json.currentName();
                JsonToken value = json.nextToken();
                switch (field) {
                    case "type" -> type = scalar(json, value);
                    case "project" -> project = value == JsonToken.START_OBJECT ? member(json, "name") : scalar(json, value);
                    case "projectName" -> projectName = scalar(json, value);
                    case "change" -> changeProject = value == JsonToken.START_OBJECT ? member(json, "project") : skip(json);
                    case "refUpdate" -> refUpdateProject = value == JsonToken.START_OBJECT ? member(json, "project") : skip(json);
                    default -> json.skipChildren();
                }
            }
            if (json.currentToken() != JsonToken.END_OBJECT || json.nextToken() != null) {
                throw new NotAnEvent("not a JSON object");
            }
        } catch (JsonProcessingException e) {
            throw new NotAnEvent("not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new NotAnEvent("not JSON: " + e.getMessage());
        }
        return new GerritEvent(type, firstNonEmpty(project, changeProject, refUpdateProject, projectName));
    }

    /** The text of a scalar value, or null (and the value skipped) for anything else. */
    private static String scalar(JsonParser json, JsonToken value) throws IOException {
        if (value.isScalarValue() && value != JsonToken.VALUE_NULL) {
            return json.getText();
        }
        return skip(json);
    }

    private static String skip(JsonParser json) throws IOException {
        json.skipChildren();
        return null;
    }

    /** Reads an object to its end, returning the scalar value of one of its members. */
    private static String member(JsonParser json, String name) throws IOException {
        String found = null;
        while (json.nextToken() == JsonToken.FIELD_NAME) {
            String field = json.currentName();
            JsonToken value = json.nextToken();
            if (field.equals(name)) {
                found = scalar(json, value);
            } else {
                json.skipChildren();
            }
        }
        return found;
    }

    private static String firstNonEmpty(String... candidates) {
        for (String candidate : candidates) {
            if (candidate != null && !candidate.isEmpty()) {
                return candidate;
            }
        }
        return null;
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
