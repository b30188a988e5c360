package history;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Optional;

import broker.events.EventIds;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /history}, {@code /history/{id}} and {@code /history/{id}/payload}: read-only, anonymous, for any
 * origin. A client's mistake is a 400 naming the parameter (or a 404), never a 5xx; the store away is a 503.
 */
public final class HistoryApi {

    private static final Logger LOG = LoggerFactory.getLogger(HistoryApi.class);
    /** Payload bytes one JSON page holds at most; a page reaching it ends there, with a {@code next}. */
    static final long MAX_PAGE_BYTES = 16L * 1024 * 1024;
    private static final String JSON = "application/json";
    private static final String NDJSON = "application/x-ndjson";

    /** The answer to a path under {@code /history} that is neither. */
    public static final String NO_SUCH_RESOURCE = "no such resource: /history/{id} or /history/{id}/payload";

    private final History history;

    public HistoryApi(History history) {
        this.history = history;
    }

    public void answer(Exchange exchange) {
        long start = System.nanoTime();
        Message in = exchange.getMessage();
        String path = in.getHeader(Exchange.HTTP_PATH, "", String.class);
        String uri = in.getHeader(Exchange.HTTP_URI, "", String.class);
        String raw = in.getHeader(Exchange.HTTP_RAW_QUERY, String.class);
        String accept = in.getHeader("Accept", "", String.class);
        in.getHeaders().clear(); // none of the request's headers goes back
        in.setHeader("Access-Control-Allow-Origin", "*");
        in.setHeader("X-Content-Type-Options", "nosniff");
        in.setHeader("Cache-Control", "no-store");
        try {
            String rest = rest(uri.isEmpty() ? path : uri);
            if (rest.isEmpty()) {
                list(in, HistoryQuery.parse(raw, accept.contains(NDJSON), System.currentTimeMillis()));
            } else {
                String[] parts = rest.split("/", -1);
                if (parts.length == 1) {
                    one(in, parts[0], false);
                } else if (parts.length == 2 && parts[1].equals("payload")) {
                    one(in, parts[0], true);
                } else {
                    reply(in, 404, JSON, EventJson.error(NO_SUCH_RESOURCE));
                }
            }
        } catch (HistoryQuery.BadParameter e) {
            reply(in, 400, JSON, EventJson.error(e.getMessage()));
        } catch (SQLException | RuntimeException e) {
            if (timedOut(e)) {
                reply(in, 400, JSON, EventJson.error("the query ran longer than the history allows: narrow it with since, until or a topic"));
            } else {
                LOG.warn("History query failed: {}", e.toString());
                in.setHeader("Retry-After", "10");
                reply(in, 503, JSON, EventJson.error("the history store is unavailable"));
            }
        } finally {
            history.timed(System.nanoTime() - start);
        }
    }

    private void list(Message in, HistoryQuery query) throws SQLException {
        HistoryStore store = history.store();
        if (query.ndjson()) {
            // the first page at once (a bad store answers now, not in the middle of the body), the rest as read
            HistoryStore.Page first = store.query(query.from(query.ascending() ? query.after() : query.before(), Math.min(query.limit(), HistoryQuery.MAX_PAGE)), MAX_PAGE_BYTES);
            in.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
            in.setHeader(Exchange.CONTENT_TYPE, NDJSON);
            in.setBody(new Lines(store, query, first));
            return;
        }
        HistoryStore.Page page = store.query(query, MAX_PAGE_BYTES);
        reply(in, 200, JSON, EventJson.page(page.events(), page.more() && page.last() != null ? query.next(page.last()) : null));
    }

    private void one(Message in, String id, boolean payload) throws SQLException {
        if (!EventIds.wellFormed(id)) {
            reply(in, 404, JSON, EventJson.error("no event has the id '" + HistoryQuery.printable(id) + "'"));
            return;
        }
        Optional<Event> event = history.store().get(id);
        if (event.isEmpty()) {
            reply(in, 404, JSON, EventJson.error("no event " + id + " is recorded"));
        } else if (!payload) {
            reply(in, 200, JSON, EventJson.event(event.get()));
        } else {
            byte[] bytes = event.get().payload();
            reply(in, 200, EventJson.isJson(bytes) ? JSON : utf8(bytes) ? "text/plain; charset=utf-8" : "application/octet-stream", bytes);
        }
    }

    private static void reply(Message in, int status, String type, byte[] body) {
        in.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        in.setHeader(Exchange.CONTENT_TYPE, type);
        in.setBody(body);
    }

    /** What follows {@code /history} in a request's path, without slashes around it and percent-decoded. */
    static String rest(String path) {
        int at = path.indexOf("/history");
        String rest = at < 0 ? "" : path.substring(at + "/history".length());
        int query = rest.indexOf('?');
        if (query >= 0) {
            rest = rest.substring(0, query);
        }
        while (rest.startsWith("/")) {
            rest = rest.substring(1);
        }
        while (rest.endsWith("/")) {
            rest = rest.substring(0, rest.length() - 1);
        }
        return rest;
    }

    private static boolean utf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /** A statement the store cancelled at its time-out (SQL state 57014, in PostgreSQL and H2). */
    private static boolean timedOut(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof java.sql.SQLTimeoutException || cause instanceof SQLException sql && "57014".equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /**
     * An NDJSON answer, read page by page as the client takes it: each page a short query of its own after the last
     * id sent, so that a slow client holds no database connection or cursor, and a large export no memory.
     */
    private static final class Lines extends InputStream {
        private final HistoryStore store;
        private final HistoryQuery query;
        private int remaining;
        private HistoryStore.Page page;
        private InputStream current = InputStream.nullInputStream();

        Lines(HistoryStore store, HistoryQuery query, HistoryStore.Page first) {
            this.store = store;
            this.query = query;
            this.remaining = query.limit();
            this.page = first;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            while (true) {
                int n = current.read(buffer, offset, length);
                if (n >= 0 || !refill()) {
                    return n;
                }
            }
        }

        private boolean refill() throws IOException {
            if (page == null) {
                if (remaining <= 0 || !more) {
                    return false;
                }
                try {
                    page = store.query(query.from(last, Math.min(remaining, HistoryQuery.MAX_PAGE)), MAX_PAGE_BYTES);
                } catch (SQLException e) {
                    throw new IOException("the history store failed in the middle of an export", e);
                }
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try {
                EventJson.lines(page.events(), bytes);
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            remaining -= page.events().size();
            more = page.more() && page.last() != null;
            last = page.last();
            page = null;
            current = new ByteArrayInputStream(bytes.toByteArray());
            return true;
        }

        private boolean more = true;
        private String last;
    }
}
