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
     */
    public Page query(HistoryQuery query, long maxBytes) throws SQLException {
        migrate();
        List<Object> args = new ArrayList<>();
        StringBuilder sql = new StringBuilder("SELECT id, topic, received, payload FROM events WHERE 1 = 1");
        for (String[] bound : new String[][] {{query.lowest(), ">="}, {query.after(), ">"}, {query.highest(), "<"}, {query.before(), "<"}}) {
            if (bound[0] != null) {
                sql.append(" AND id ").append(bound[1]).append(" ?");
                args.add(bound[0]);
            }
        }
        Predicate<String> matches = TopicPattern.matcher(query.topics(), wildcards);
        if (query.topics().stream().noneMatch(TopicPattern::everything)) {
            StringBuilder any = new StringBuilder();
            for (TopicPattern topic : query.topics()) {
                any.append(any.isEmpty() ? " AND (" : " OR ");
                if (topic.exact()) {
                    any.append("(topic_key = ? AND topic = ?)");
                    args.add(TopicPattern.key(topic.filter()));
                    args.add(topic.filter());
                } else {
                    any.append('(');
                    String prefix = TopicPattern.key(topic.prefix());
                    if (!prefix.isEmpty()) {
                        any.append("topic_key >= ? AND ");
                        args.add(prefix);
                        String above = above(prefix);
                        if (above != null) {
                            any.append("topic_key < ? AND ");
                            args.add(above);
                        }
                    }
                    any.append("topic LIKE ? ESCAPE '\\')");
                    args.add(topic.like());
                }
            }
            sql.append(any).append(')');
        }
        sql.append(" ORDER BY id ").append(query.ascending() ? "ASC" : "DESC");
        boolean exactInSql = query.topics().stream().allMatch(t -> t.exact() || t.everything());
        int rowsAtMost = exactInSql ? query.limit() : query.limit() + SCAN_CAP;
        sql.append(" FETCH FIRST ").append(rowsAtMost).append(" ROWS ONLY");

        List<Event> events = new ArrayList<>();
        boolean cut = false;
        long bytes = 0;
        String lastScanned = null;
        try (Connection connection = pool.getConnection()) {
            connection.setAutoCommit(false); // PostgreSQL streams rows (fetch size) only inside a transaction
            connection.setReadOnly(true);
            try (PreparedStatement select = connection.prepareStatement(sql.toString())) {
                select.setQueryTimeout(queryTimeoutSeconds);
                select.setFetchSize(Math.min(rowsAtMost, 500));
                for (int i = 0; i < args.size(); i++) {
                    select.setString(i + 1, (String) args.get(i));
                }
                int read = 0;
                try (ResultSet rows = select.executeQuery()) {
                    while (rows.next()) {
                        read++;
                        lastScanned = rows.getString(1);
                        String topic = rows.getString(2);
                        if (!matches.test(topic)) {
                            continue;
                        }
                        Event event = event(rows);
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
