package history;

import java.io.ByteArrayOutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

import broker.events.EventIds;

/**
 * One {@code GET /history} question, read from its query string and checked: every bad parameter is a
 * {@link BadParameter} naming it. A {@code +} in the query string is the MQTT wildcard, not a space (write a space as
 * {@code %20}); a {@code #} must be written {@code %23}.
 *
 * @param topics MQTT topic filters, any of which matches
 * @param lowest the lowest id an answer may hold (inclusive), or null
 * @param highest the id every answer is below (exclusive), or null
 * @param after the id answers are strictly after, or null
 * @param ascending oldest first
 * @param limit events at most
 * @param ndjson one event per line instead of a JSON page
 */
public record HistoryQuery(List<TopicPattern> topics, String lowest, String highest, String after, String before,
                           boolean ascending, int limit, boolean ndjson, Map<String, List<String>> given) {

    /** Events a JSON page holds at most. */
    public static final int MAX_PAGE = 1_000;
    /** Events an NDJSON answer holds at most. */
    public static final int MAX_EXPORT = 100_000;
    static final int DEFAULT_LIMIT = 100;
    private static final Set<String> STREAM = Set.of("topic", "after", "since");
    private static final Set<String> KNOWN = Set.of("topic", "since", "until", "delta", "after", "before", "order", "limit", "format");
    /** Characters of one parameter at most: an MQTT topic filter is at most 65,535 bytes. */
    private static final int MAX_VALUE = 65_535;

    /** A parameter a client got wrong: answered 400 with this message. */
    public static final class BadParameter extends RuntimeException {
        public BadParameter(String message) {
            super(message, null, false, false);
        }
    }

    /** Reads a raw (still percent-encoded) query string; {@code ndjsonAsked}: the client's Accept asks for NDJSON. */
    public static HistoryQuery parse(String rawQuery, boolean ndjsonAsked, long now) {
        Map<String, List<String>> params = decode(rawQuery);
        for (String name : params.keySet()) {
            if (!KNOWN.contains(name)) {
                throw new BadParameter("unknown parameter '" + printable(name) + "'; known: topic, since, until, delta, after, before, order, limit, format");
            }
            if (!name.equals("topic") && params.get(name).size() > 1) {
                throw new BadParameter(name + ": given more than once");
            }
        }
        String format = one(params, "format");
        if (format != null && !format.equals("json") && !format.equals("ndjson")) {
            throw new BadParameter("format: json or ndjson, not '" + printable(format) + "'");
        }
        boolean ndjson = format == null ? ndjsonAsked : format.equals("ndjson");

        List<TopicPattern> topics = new ArrayList<>();
        for (String filter : params.getOrDefault("topic", List.of("#"))) {
            topics.add(TopicPattern.parse(filter));
        }

        String after = id(params, "after");
        String before = id(params, "before");
        Long since = instant(params, "since");
        Long until = instant(params, "until");
        String delta = one(params, "delta");
        if (delta != null) {
            if (since != null) {
                throw new BadParameter("delta: give since or delta, not both");
            }
            long seconds;
            try {
                seconds = Long.parseLong(delta);
            } catch (NumberFormatException e) {
                throw new BadParameter("delta: a number of seconds, not '" + printable(delta) + "'");
            }
            if (seconds < 0 || seconds > 100L * 366 * 86_400) {
                throw new BadParameter("delta: between 0 and 100 years of seconds, not " + seconds);
            }
            since = (until == null ? now : until) - seconds * 1000;
        }
        if (since != null && until != null && since > until) {
            throw new BadParameter("since: after until");
        }

        String order = one(params, "order");
        boolean ascending;
        if (order == null) {
            ascending = after != null;
        } else if (order.equals("asc") || order.equals("desc")) {
            ascending = order.equals("asc");
        } else {
            throw new BadParameter("order: asc or desc, not '" + printable(order) + "'");
        }

        int max = ndjson ? MAX_EXPORT : MAX_PAGE;
        String text = one(params, "limit");
        int limit = DEFAULT_LIMIT;
        if (text != null) {
            try {
                limit = Integer.parseInt(text);
            } catch (NumberFormatException e) {
                throw new BadParameter("limit: a number from 1 to " + max + ", not '" + printable(text) + "'");
            }
            if (limit < 1 || limit > max) {
                throw new BadParameter("limit: from 1 to " + max + (ndjson ? "" : " (up to " + MAX_EXPORT + " as NDJSON)") + ", not " + limit);
            }
        }

        String lowest = since == null ? null : EventIds.lowestAt(since);
        String highest = until == null ? null : EventIds.lowestAt(until + 1);
        return new HistoryQuery(List.copyOf(topics), lowest, highest, after, before, ascending, limit, ndjson, params);
    }

    /**
     * The replay of a {@code GET /events} stream: its topic filters, and where it starts: after the
     * {@code Last-Event-ID} header's id (a client resuming), else after {@code after}, else from {@code since}, else
     * from now (live only).
     */
    public static HistoryQuery stream(String rawQuery, String lastEventId, long now) {
        Map<String, List<String>> params = decode(rawQuery);
        for (String name : params.keySet()) {
            if (!STREAM.contains(name)) {
                throw new BadParameter("unknown parameter '" + printable(name) + "'; known: topic, after, since");
            }
            if (!name.equals("topic") && params.get(name).size() > 1) {
                throw new BadParameter(name + ": given more than once");
            }
        }
        List<TopicPattern> topics = new ArrayList<>();
        for (String filter : params.getOrDefault("topic", List.of("#"))) {
            topics.add(TopicPattern.parse(filter));
        }
        String after = id(params, "after");
        Long since = instant(params, "since");
        if (after != null && since != null) {
            throw new BadParameter("after: give after or since, not both");
        }
        if (lastEventId != null && !lastEventId.isEmpty()) {
            if (!EventIds.wellFormed(lastEventId)) {
                throw new BadParameter("Last-Event-ID: an event id (" + EventIds.LENGTH + " hex digits), not '" + printable(lastEventId) + "'");
            }
            after = lastEventId;
            since = null;
        }
        if (after == null && since == null) {
            after = EventIds.lowestAt(now); // live only: nothing recorded before this moment
        }
        String lowest = since == null ? null : EventIds.lowestAt(since);
        return new HistoryQuery(List.copyOf(topics), lowest, null, after, null, true, MAX_PAGE, false, params);
    }

    /**
     * The query string of the page after one ending with {@code lastId}: the same question, its cursor moved (an
     * ascending walk goes on after the last id, a descending one before it).
     */
    public String next(String lastId) {
        StringJoiner query = new StringJoiner("&", "/history?", "");
        for (Map.Entry<String, List<String>> param : given.entrySet()) {
            String name = param.getKey();
            if (name.equals(ascending ? "after" : "before") || name.equals("order")) {
                continue;
            }
            for (String value : param.getValue()) {
                query.add(name + "=" + encode(value));
            }
        }
        query.add((ascending ? "after=" : "before=") + lastId);
        query.add("order=" + (ascending ? "asc" : "desc"));
        return query.toString();
    }

    /** This question, one page further on: after ({@code ascending}) or before {@code lastId}. */
    HistoryQuery from(String lastId, int newLimit) {
        return ascending ? new HistoryQuery(topics, lowest, highest, lastId, before, true, newLimit, ndjson, given)
                : new HistoryQuery(topics, lowest, highest, after, lastId, false, newLimit, ndjson, given);
    }

    private static String id(Map<String, List<String>> params, String name) {
        String id = one(params, name);
        if (id != null && !EventIds.wellFormed(id)) {
            throw new BadParameter(name + ": an event id (" + EventIds.LENGTH + " hex digits), not '" + printable(id) + "'");
        }
        return id;
    }

    private static Long instant(Map<String, List<String>> params, String name) {
        String text = one(params, name);
        if (text == null) {
            return null;
        }
        long millis;
        if (!text.isEmpty() && text.chars().allMatch(Character::isDigit) && text.length() <= 15) {
            millis = Long.parseLong(text);
        } else {
            try {
                millis = Instant.parse(text).toEpochMilli();
            } catch (DateTimeParseException | ArithmeticException e) {
                throw new BadParameter(name + ": an ISO-8601 instant (2026-12-06T12:00:00Z) or epoch milliseconds, not '" + printable(text) + "'");
            }
        }
        if (millis < 0 || millis > 253_402_300_799_999L) {
            throw new BadParameter(name + ": between 1970 and 9999");
        }
        return millis;
    }

    private static String one(Map<String, List<String>> params, String name) {
        List<String> values = params.get(name);
        return values == null ? null : values.get(0);
    }

    /** Percent-decodes a query string (strict UTF-8; {@code +} stays a plus: the MQTT wildcard). */
    static Map<String, List<String>> decode(String raw) {
        Map<String, List<String>> params = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return params;
        }
        for (String pair : raw.split("&", -1)) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = percentDecode(eq < 0 ? pair : pair.substring(0, eq), "a parameter name");
            String value = eq < 0 ? "" : percentDecode(pair.substring(eq + 1), name);
            if (value.length() > MAX_VALUE) {
                throw new BadParameter(printable(name) + ": longer than " + MAX_VALUE + " characters");
            }
            params.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
        }
        return params;
    }

    private static String percentDecode(String text, String what) {
        if (text.indexOf('%') < 0) {
            return text;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '%') {
                if (i + 2 >= text.length() || Character.digit(text.charAt(i + 1), 16) < 0 || Character.digit(text.charAt(i + 2), 16) < 0) {
                    throw new BadParameter(printable(what) + ": a '%' not followed by two hex digits");
                }
                bytes.write(Character.digit(text.charAt(i + 1), 16) << 4 | Character.digit(text.charAt(i + 2), 16));
                i += 2;
            } else {
                byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(utf8, 0, utf8.length);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new BadParameter(printable(what) + ": not UTF-8");
        }
    }

    private static String encode(String value) {
        StringBuilder out = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "-._~+/:".indexOf(c) >= 0) {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16))).append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return out.toString();
    }

    /** A client's text as an error message may quote it: at most 100 characters, control characters escaped. */
    static String printable(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && out.length() < 100; i++) {
            char c = text.charAt(i);
            out.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return text.length() > 100 ? out + "…" : out.toString();
    }
}
