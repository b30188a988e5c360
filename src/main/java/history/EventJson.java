package history;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;

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
        String text = jsonText(event.payload());
        if (text != null) {
            // as published; a line break outside JSON strings is white space (inside, JSON escapes it): kept off NDJSON lines
            json.writeRawValue(text.replace('\n', ' ').replace('\r', ' '));
        } else {
            json.writeString(new String(event.payload(), StandardCharsets.UTF_8));
        }
        json.writeEndObject();
    }

    /** Whether the bytes are exactly one JSON value (strict JSON in UTF-8, no byte order mark). */
    public static boolean isJson(byte[] payload) {
        return jsonText(payload) != null;
    }

    /** The payload's text when it is exactly one JSON value (strict JSON in UTF-8, no byte order mark), else null. */
    static String jsonText(byte[] payload) {
        if (payload.length == 0) {
            return null;
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(payload)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        if (text.charAt(0) == '\ufeff') {
            return null;
        }
        try (JsonParser parser = JSON.createParser(text)) {
            if (parser.nextToken() == null) {
                return null;
            }
            parser.skipChildren();
            return parser.nextToken() == null ? text : null;
        } catch (IOException e) {
            return null;
        }
    }
}
