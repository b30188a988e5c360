package history;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;

/**
 * An event as the history answers it: {@code {"id", "topic", "received", "payload"}}, the payload as its own JSON value
 * when it is one JSON document (its text as published), else as text.
 */
public final class EventJson {

    private static final JsonFactory JSON = new JsonFactory();
    private static final DateTimeFormatter RECEIVED = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private EventJson() {
    }

    /** One event object. */
    public static byte[] event(Event event) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(event.payload().length + 128);
        try (JsonGenerator json = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            write(json, event);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A page: {@code {"events": [...], "next": "..."}}, {@code next} only when there is one. */
    public static byte[] page(List<Event> events, String next) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator json = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeArrayFieldStart("events");
            for (Event event : events) {
                write(json, event);
            }
            json.writeEndArray();
            if (next != null) {
                json.writeStringField("next", next);
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Events as NDJSON, one object a line. */
    public static void lines(List<Event> events, OutputStream out) throws IOException {
        for (Event event : events) {
            out.write(event(event));
            out.write('\n');
        }
    }

    /** {@code {"error": message}}. */
    public static byte[] error(String message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator json = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            json.writeStartObject();
            json.writeStringField("error", message);
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void write(JsonGenerator json, Event event) throws IOException {
        json.writeStartObject();
        json.writeStringField("id", event.id());
        json.writeStringField("topic", event.topic());
        json.writeStringField("received", RECEIVED.format(Instant.ofEpochMilli(event.received())));
        json.writeFieldName("payload");
        if (isJson(event.payload())) {
            json.writeRawValue(new String(event.payload(), StandardCharsets.UTF_8));
        } else {
            json.writeString(new String(event.payload(), StandardCharsets.UTF_8));
        }
        json.writeEndObject();
    }

    /** Whether the bytes are exactly one JSON value (strict JSON, UTF-8). */
    public static boolean isJson(byte[] payload) {
        if (payload.length == 0) {
            return false;
        }
        try (JsonParser parser = JSON.createParser(payload)) {
            if (parser.nextToken() == null) {
                return false;
            }
            parser.skipChildren();
            return parser.nextToken() == null;
        } catch (JsonProcessingException e) {
            return false;
        } catch (IOException e) {
            return false;
        }
    }
}
