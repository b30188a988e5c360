package history;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.apache.activemq.artemis.core.config.WildcardConfiguration;
import org.flywaydb.core.Flyway;

/**
 * The events table, through a pool of JDBC connections (HikariCP): its schema brought up to date by Flyway
 * ({@code db/history/<h2|postgresql>/}), events written in batches, each once (idempotent on its id: nodes sharing one
 * PostgreSQL all write every event), read by id ranges and topic, older ones deleted in small batches. Every
 * statement is bound (no client text in SQL) and every query has a time-out. The pool starts without the database:
 * the broker goes on while it is away.
 */
public final class HistoryStore implements AutoCloseable {

    /** Rows one query reads at most beyond the events it answers (a {@code +} filter over a wide range). */
    static final int SCAN_CAP = 100_000;
    /** Rows a wildcard query on H2 reads in id order before it turns to the topic index (a topic that rare). */
    static final int H2_ID_SCAN = 10_000;

    private final HikariDataSource pool;
    private final boolean postgres;
    private final int queryTimeoutSeconds;
    private final WildcardConfiguration wildcards;
    private volatile boolean migrated;

    public HistoryStore(HistorySettings settings, WildcardConfiguration wildcards) {
        this.postgres = settings.postgres();
        this.queryTimeoutSeconds = (int) Math.max(1, settings.queryTimeout().toSeconds());
        this.wildcards = wildcards;
        HikariConfig config = new HikariConfig();
        config.setPoolName("firehose-history");
        config.setJdbcUrl(settings.url());
        if (!settings.user().isEmpty()) {
            config.setUsername(settings.user());
        }
        if (!settings.password().isEmpty()) {
            config.setPassword(settings.password());
        }
        config.setMaximumPoolSize(8);
        config.setMinimumIdle(1);
        config.setInitializationFailTimeout(-1); // start while the database is away: the bus goes on
        config.setConnectionTimeout(2_000);
        config.setValidationTimeout(1_000);
        if (postgres) {
            config.addDataSourceProperty("connectTimeout", "2");
            config.addDataSourceProperty("socketTimeout", String.valueOf(queryTimeoutSeconds * 3L + 10));
            config.addDataSourceProperty("tcpKeepAlive", "true");
            // a plan for each query's own values: the driver prepares a statement run five times on the server, and
            // PostgreSQL's generic plan for it guesses a topic's share of the events (a frequent topic's latest page
            // was then a bitmap scan of all its events and a sort, 0.7 s over a million events, against 0.3 ms)
            config.addDataSourceProperty("options", "-c plan_cache_mode=force_custom_plan");
        }
        this.pool = new HikariDataSource(config);
    }

    public boolean postgres() {
        return postgres;
    }

    /** Brings the schema up to date, once; throws while the database cannot be reached. */
    public void migrate() {
        if (migrated) {
            return;
        }
        synchronized (this) {
            if (!migrated) {
                Flyway.configure(HistoryStore.class.getClassLoader()).dataSource(pool)
                        .locations("classpath:db/history/" + (postgres ? "postgresql" : "h2"))
                        .table("firehose_history_schema").failOnMissingLocations(true).load().migrate();
                migrated = true;
            }
        }
    }

    /** Writes events not stored yet, in one transaction; those already there (by id) are left as they are. */
    public void insert(List<Event> events) throws SQLException {
        migrate();
        String sql = postgres
                ? "INSERT INTO events (id, topic_key, topic, received, payload) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
                : "MERGE INTO events (id, topic_key, topic, received, payload) KEY (id) VALUES (?, ?, ?, ?, ?)";
        try (Connection connection = pool.getConnection()) {
            connection.setAutoCommit(false);
            try (PreparedStatement insert = connection.prepareStatement(sql)) {
                insert.setQueryTimeout(queryTimeoutSeconds * 3);
                for (Event event : events) {
                    insert.setString(1, event.id());
                    insert.setString(2, TopicPattern.key(event.topic()));
                    insert.setString(3, event.topic());
                    insert.setLong(4, event.received());
                    insert.setBytes(5, event.payload());
                    insert.addBatch();
                }
                insert.executeBatch();
                connection.commit();
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            }
        }
    }

    /** One event, if recorded. */
    public Optional<Event> get(String id) throws SQLException {
        migrate();
        try (Connection connection = pool.getConnection();
             PreparedStatement select = connection.prepareStatement("SELECT id, topic, received, payload FROM events WHERE id = ?")) {
            select.setQueryTimeout(queryTimeoutSeconds);
            select.setString(1, id);
            try (ResultSet rows = select.executeQuery()) {
                return rows.next() ? Optional.of(event(rows)) : Optional.empty();
            }
        }
    }

    /**
     * The events a query asks for, at most {@code query.limit()}, in its order. A page is also cut short (and marked so)
     * when {@link #SCAN_CAP} rows beyond the limit did not match its filters, or when its payloads reach
     * {@code maxBytes}.
     *
     * <p>Read in chunks, each statement asking for no more rows than the page still needs (doubling up to 10,000), the
     * next one after the last row read: the database plans for a page, not for the scan cap. Asked for 100,100 rows,
     * both databases read every event in a wildcard's topic range and sorted them (seconds over a million events, a
     * filter over most of the bus ran into the query time-out); asked for 100, PostgreSQL walks the id index when the
     * topics are frequent and the topic index when they are rare. H2 picks an index by the conditions alone, never by
     * the order and the limit, so on H2 a wildcard filter first reads the newest (or oldest) {@link #H2_ID_SCAN} rows in
     * id order with no topic condition in SQL (the broker's matcher chooses), and only then, for a topic that rare, asks
     * with the topic range (the topic index, and a sort of what it holds). One exact topic is ordered by the topic
     * index {@code (topic_key, id)}, which H2 then reads in order instead of sorting every event of the topic.
     */
    public Page query(HistoryQuery query, long maxBytes) throws SQLException {
        migrate();
        List<String> boundArgs = new ArrayList<>();
        StringBuilder bounds = new StringBuilder(" WHERE 1 = 1");
        for (String[] bound : new String[][] {{query.lowest(), ">="}, {query.after(), ">"}, {query.highest(), "<"}, {query.before(), "<"}}) {
            if (bound[0] != null) {
                bounds.append(" AND id ").append(bound[1]).append(" ?");
                boundArgs.add(bound[0]);
            }
        }
        List<String> topicArgs = new ArrayList<>();
        StringBuilder topics = new StringBuilder();
        Predicate<String> matches = TopicPattern.matcher(query.topics(), wildcards);
        if (query.topics().stream().noneMatch(TopicPattern::everything)) {
            for (TopicPattern topic : query.topics()) {
                topics.append(topics.isEmpty() ? " AND (" : " OR ");
                if (topic.exact()) {
                    topics.append("(topic_key = ? AND topic = ?)");
                    topicArgs.add(TopicPattern.key(topic.filter()));
                    topicArgs.add(topic.filter());
                } else {
                    topics.append('(');
                    String prefix = TopicPattern.key(topic.prefix());
                    if (!prefix.isEmpty()) {
                        topics.append("topic_key >= ? AND ");
                        topicArgs.add(prefix);
                        String above = above(prefix);
                        if (above != null) {
                            topics.append("topic_key < ? AND ");
                            topicArgs.add(above);
                        }
                    }
                    topics.append("topic LIKE ? ESCAPE '\\')");
                    topicArgs.add(topic.like());
                }
            }
            topics.append(')');
        }
        String direction = query.ascending() ? "ASC" : "DESC";
        boolean oneExactTopic = query.topics().size() == 1 && query.topics().get(0).exact();
        String order = " ORDER BY " + (oneExactTopic ? "topic_key " + direction + ", " : "") + "id " + direction;
        boolean exactInSql = query.topics().stream().allMatch(t -> t.exact() || t.everything());
        int rowsAtMost = exactInSql ? query.limit() : query.limit() + SCAN_CAP;
        boolean byIdFirst = !postgres && !exactInSql;

        List<Event> events = new ArrayList<>();
        boolean cut = false;
        long bytes = 0;
        String lastScanned = null;
        int read = 0;
        try (Connection connection = pool.getConnection()) {
            connection.setAutoCommit(false); // PostgreSQL streams rows (fetch size) only inside a transaction
            connection.setReadOnly(true);
            try {
                boolean byId = byIdFirst;
                int chunk = query.limit();
                while (events.size() < query.limit() && !cut && read < rowsAtMost) {
                    int rows = Math.min(chunk, rowsAtMost - read);
                    if (byId) {
                        rows = Math.min(rows, H2_ID_SCAN - read);
                    }
                    List<String> args = new ArrayList<>(boundArgs);
                    StringBuilder sql = new StringBuilder("SELECT id, topic, received, payload FROM events").append(bounds);
                    if (lastScanned != null) {
                        sql.append(query.ascending() ? " AND id > ?" : " AND id < ?");
                        args.add(lastScanned);
                    }
                    if (!byId) {
                        sql.append(topics);
                        args.addAll(topicArgs);
                    }
                    sql.append(order).append(" FETCH FIRST ").append(rows).append(" ROWS ONLY");
                    int readNow = 0;
                    try (PreparedStatement select = connection.prepareStatement(sql.toString())) {
                        select.setQueryTimeout(queryTimeoutSeconds);
                        select.setFetchSize(Math.min(rows, 500));
                        for (int i = 0; i < args.size(); i++) {
                            select.setString(i + 1, args.get(i));
                        }
                        try (ResultSet result = select.executeQuery()) {
                            while (result.next()) {
                                read++;
                                readNow++;
                                lastScanned = result.getString(1);
                                String topic = result.getString(2);
                                if (!matches.test(topic)) {
                                    continue;
                                }
                                Event event = event(result);
                                events.add(event);
                                bytes += event.payload().length + event.topic().length();
                                if (events.size() == query.limit()) {
                                    break;
                                }
                                if (bytes >= maxBytes) {
                                    cut = true;
                                    break;
                                }
                            }
                        }
                    }
                    if (readNow < rows) {
                        break; // no more rows to read (events.size() == limit breaks early too, and ends the loop anyway)
                    }
                    chunk = Math.min(chunk * 2, 10_000);
                    if (byId && read >= H2_ID_SCAN) {
                        byId = false; // a rare topic: the topic index from here on
                        chunk = query.limit();
                    }
                }
                if (events.size() < query.limit() && read == rowsAtMost) {
                    cut = true; // the scan cap, not the end of the matching events
                }
            } finally {
                connection.rollback();
            }
        }
        String last = events.isEmpty() ? null : events.get(events.size() - 1).id();
        // cut at the scan cap, the next page starts after the last row read, matching or not
        boolean scanCut = cut && read(events, lastScanned);
        return new Page(events, events.size() == query.limit() || cut, scanCut ? lastScanned : last);
    }

    private static boolean read(List<Event> events, String lastScanned) {
        return lastScanned != null && (events.isEmpty() || !events.get(events.size() - 1).id().equals(lastScanned));
    }

    /**
     * Deletes at most {@code batch} events older than {@code id}; returns how many went. Small batches, each its own
     * transaction, so that deleting a month never holds writers or readers for long.
     */
    public int deleteBefore(String id, int batch) throws SQLException {
        migrate();
        try (Connection connection = pool.getConnection();
             PreparedStatement delete = connection.prepareStatement(
                     "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < ? ORDER BY id FETCH FIRST " + batch + " ROWS ONLY)")) {
            delete.setQueryTimeout(queryTimeoutSeconds * 3);
            delete.setString(1, id);
            return delete.executeUpdate();
        }
    }

    /** Bytes the events take in the database (table and indexes). */
    public long size() throws SQLException {
        migrate();
        try (Connection connection = pool.getConnection();
             PreparedStatement size = connection.prepareStatement(postgres
                     ? "SELECT pg_total_relation_size('events')" : "SELECT DISK_SPACE_USED('EVENTS')");
             ResultSet row = size.executeQuery()) {
            return row.next() ? row.getLong(1) : 0;
        }
    }

    /** Whether a connection can be had and used now. */
    public boolean reachable() {
        try (Connection connection = pool.getConnection()) {
            return connection.isValid(1);
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public void close() {
        pool.close();
    }

    private static Event event(ResultSet rows) throws SQLException {
        return new Event(rows.getString(1), rows.getString(2), rows.getLong(3), rows.getBytes(4));
    }

    /** The events of one answer; {@code more}: a next page may hold more, after (or before) {@code last}. */
    public record Page(List<Event> events, boolean more, String last) {
    }

    /** The least string above every string starting with {@code prefix}, or null. */
    private static String above(String prefix) {
        char last = prefix.charAt(prefix.length() - 1);
        if (Character.isSurrogate(last) || last == Character.MAX_VALUE) {
            return null;
        }
        return prefix.substring(0, prefix.length() - 1) + (char) (last + 1);
    }
}
