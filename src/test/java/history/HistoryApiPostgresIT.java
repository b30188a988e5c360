package history;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/** Every question of {@link HistoryApiIT}, with the history in a real PostgreSQL instead of the embedded H2. */
class HistoryApiPostgresIT extends HistoryApiIT {

    @Test
    @Order(0)
    void the_events_are_in_postgresql_each_once() throws Exception {
        int listed = history.all("/history?order=asc&limit=1000").size();
        try (Connection db = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
             Statement count = db.createStatement();
             ResultSet row = count.executeQuery("SELECT count(*), count(DISTINCT id) FROM events")) {
            row.next();
            assertEquals(listed, row.getInt(1), "rows in PostgreSQL");
            assertEquals(listed, row.getInt(2), "distinct ids");
        }
    }
}
