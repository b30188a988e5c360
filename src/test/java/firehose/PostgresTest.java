package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The harness of the history store's tests: a real PostgreSQL server, its own cluster in a test's directory. */
class PostgresTest {

    private static final String BODY = "change merged \u2013 \u2713";

    @TempDir
    Path dir;

    @Test
    void a_row_outlives_a_stop_and_a_restart_and_close_leaves_nothing_listening() throws Exception {
        int port;
        try (Postgres postgres = Postgres.start(dir)) {
            port = postgres.port();
            assertEquals("jdbc:postgresql://127.0.0.1:" + port + "/firehose", postgres.jdbcUrl());
            assertTrue(postgres.running());
            assertEquals(1, processesMentioning(dir).size(), "the postmaster, -D under " + dir);
            try (Connection connection = connect(postgres, postgres.password());
                 Statement statement = connection.createStatement()) {
                statement.execute("CREATE TABLE event (id bigint PRIMARY KEY, body text NOT NULL)");
                try (PreparedStatement insert = connection.prepareStatement("INSERT INTO event VALUES (?, ?)")) {
                    insert.setLong(1, 1);
                    insert.setString(2, BODY);
                    assertEquals(1, insert.executeUpdate());
                }
            }
            assertEquals(List.of(BODY), bodies(postgres));

            postgres.stop();
            assertFalse(postgres.running());
            assertThrows(SQLException.class, () -> connect(postgres, postgres.password()).close());
            assertFalse(listening(port), "stopped, nothing listens on " + port);

            postgres.restart();
            assertTrue(postgres.running());
            assertEquals(port, postgres.port());
            assertEquals(List.of(BODY), bodies(postgres));

            postgres.close();
            assertFalse(postgres.running());
        }
        assertFalse(listening(port), "closed, nothing listens on " + port);
        assertEquals(List.of(), processesMentioning(dir));
    }

    @Test
    void the_firehose_user_owns_its_database_and_needs_its_password() throws Exception {
        try (Postgres postgres = Postgres.start(dir)) {
            try (Connection connection = connect(postgres, postgres.password());
                 Statement statement = connection.createStatement();
                 ResultSet row = statement.executeQuery("SELECT current_user, current_database(), pg_encoding_to_char(encoding),"
                     + " pg_get_userbyid(datdba), current_setting('listen_addresses') FROM pg_database WHERE datname = current_database()")) {
                assertTrue(row.next());
                assertEquals(List.of("firehose", "firehose", "UTF8", "firehose", "127.0.0.1"),
                    List.of(row.getString(1), row.getString(2), row.getString(3), row.getString(4), row.getString(5)));
            }
            SQLException refused = assertThrows(SQLException.class, () -> connect(postgres, postgres.password() + "x").close());
            assertEquals("28P01", refused.getSQLState(), "password authentication failed: " + refused.getMessage());
            // the Unix socket is in the test's directory, not the system's /var/run/postgresql
            try (Stream<Path> files = Files.walk(dir)) {
                assertTrue(files.anyMatch(file -> file.getFileName().toString().equals(".s.PGSQL." + postgres.port())),
                    "a Unix socket .s.PGSQL." + postgres.port() + " under " + dir);
            }
        }
    }

    private static Connection connect(Postgres postgres, String password) throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", postgres.user());
        properties.setProperty("password", password);
        properties.setProperty("connectTimeout", "10");
        return DriverManager.getConnection(postgres.jdbcUrl(), properties);
    }

    private static List<String> bodies(Postgres postgres) throws SQLException {
        try (Connection connection = connect(postgres, postgres.password());
             Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT body FROM event ORDER BY id")) {
            List<String> bodies = new ArrayList<>();
            while (rows.next()) {
                bodies.add(rows.getString(1));
            }
            return bodies;
        }
    }

    private static boolean listening(int port) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            return true;
        } catch (ConnectException refused) {
            return false;
        }
    }

    /** The postmaster's command line names its data directory. */
    private static List<String> processesMentioning(Path dir) {
        String path = dir.toAbsolutePath().toString();
        return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
            .map(process -> process.info().commandLine().orElse("")).filter(line -> line.contains(path)).toList();
    }
}
