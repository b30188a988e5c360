package firehose;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.opentest4j.TestAbortedException;

/**
 * A real PostgreSQL server from Debian's postgresql package, a cluster of its own in a test's directory: initdb, then
 * pg_ctl on a free port of 127.0.0.1, its Unix socket inside that directory. Database {@code firehose} is owned by
 * user {@code firehose}, who logs in with a password (SCRAM). Missing binaries skip the test on a developer's machine;
 * with -Dfirehose.postgres.required=true or -Dfirehose.interop.required=true (CI) they fail it.
 */
public final class Postgres implements AutoCloseable {

    private static final String USER = "firehose";
    private static final String DATABASE = "firehose";
    private static final String SUPERUSER = "postgres";
    /** The system user Debian's package creates: initdb and postgres refuse to run as root. */
    private static final String SYSTEM_USER = "postgres";
    private static final int PG_CTL_WAIT_SECONDS = 60;
    /** pg_ctl's own wait plus its start-up: a command that outlives this is killed, never awaited for ever. */
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(PG_CTL_WAIT_SECONDS + 30);
    private static final String INSTALL = "install Debian's postgresql package (apt-get install -y postgresql)";

    private final Path dir;
    private final Path data;
    private final Path log;
    private final Path bin;
    private final boolean asSystemUser;
    private final int port;
    private final String password;
    private final Thread stopOnExit;

    private Postgres(Path dir, Path bin, boolean asSystemUser) {
        this.dir = dir;
        this.data = dir.resolve("data");
        this.log = dir.resolve("postgres.log");
        this.bin = bin;
        this.asSystemUser = asSystemUser;
        this.port = FirehoseApp.freePort();
        this.password = secret();
        this.stopOnExit = new Thread(this::stopImmediately, "postgres-stop-" + port);
    }

    /** Creates a cluster in {@code dir}, starts it and creates the {@code firehose} user and database. */
    public static Postgres start(Path dir) {
        Optional<String> missing = Installation.MISSING;
        if (missing.isPresent()) {
            if (required()) {
                throw new IllegalStateException(missing.get());
            }
            throw new TestAbortedException(missing.get() + " (skipped; required with -Dfirehose.postgres.required=true)");
        }
        Postgres postgres = new Postgres(dir.toAbsolutePath(), Installation.BIN.orElseThrow(), Installation.ROOT);
        try {
            postgres.create();
            return postgres;
        } catch (RuntimeException e) {
            postgres.close();
            throw e;
        }
    }

    /** Whether a cluster can be started here: binaries found and, as root, a postgres user to run them as. */
    public static boolean available() {
        return Installation.MISSING.isEmpty();
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
    }

    public String user() {
        return USER;
    }

    public String password() {
        return password;
    }

    public int port() {
        return port;
    }

    /** Stops the server (fast shutdown: connections are closed, committed data is kept); nothing if it is stopped. */
    public synchronized void stop() {
        if (running()) {
            pgCtl("stop", "-m", "fast");
        }
    }

    /** Starts the server again, on the same port with the same data; a running server is stopped first. */
    public synchronized void restart() {
        stop();
        pgCtl("start", "-l", log.toString());
    }

    public synchronized boolean running() {
        try {
            List<String> lines = Files.readAllLines(data.resolve("postmaster.pid"), StandardCharsets.UTF_8);
            return !lines.isEmpty() && ProcessHandle.of(Long.parseLong(lines.get(0).trim())).map(ProcessHandle::isAlive).orElse(false);
        } catch (IOException | NumberFormatException noServer) {
            return false;
        }
    }

    /** Stops the server at once (its data is the caller's to delete with the directory). */
    @Override
    public synchronized void close() {
        stopImmediately();
        try {
            Runtime.getRuntime().removeShutdownHook(stopOnExit);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs or has run
        }
    }

    private synchronized void stopImmediately() {
        if (running()) {
            pgCtl("stop", "-m", "immediate");
        }
    }

    private void create() {
        Path socket = dir.resolve("socket");
        Path superuserPassword = dir.resolve("superuser-password");
        String superuserSecret = secret();
        try {
            Files.createDirectories(socket);
            Files.writeString(superuserPassword, superuserSecret + "\n", StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(superuserPassword, PosixFilePermissions.fromString("rw-------"));
            if (asSystemUser) {
                letSystemUserWrite(List.of(dir, socket, superuserPassword));
            }
            try {
                run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", SUPERUSER, "-E", "UTF8", "--no-locale",
                    "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--pwfile=" + superuserPassword, "--no-sync"));
            } finally {
                Files.deleteIfExists(superuserPassword);
            }
            // appended, so these win over initdb's defaults; fsync off: a test's cluster need not survive a power cut
            Files.writeString(data.resolve("postgresql.conf"), String.join("\n", "",
                "listen_addresses = '127.0.0.1'",
                "port = " + port,
                "unix_socket_directories = " + quoted(socket.toString()),
                "fsync = off",
                ""), StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("could not prepare a PostgreSQL cluster in " + dir, e);
        }
        Runtime.getRuntime().addShutdownHook(stopOnExit);
        pgCtl("start", "-l", log.toString());
        String admin = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?connectTimeout=10";
        try (Connection connection = DriverManager.getConnection(admin, SUPERUSER, superuserSecret);
             Statement statement = connection.createStatement()) {
            statement.execute("CREATE ROLE " + USER + " LOGIN PASSWORD '" + password + "'");
            statement.execute("CREATE DATABASE " + DATABASE + " OWNER " + USER + " ENCODING 'UTF8'");
        } catch (SQLException e) {
            throw new IllegalStateException("could not create user and database " + DATABASE + " on 127.0.0.1:" + port
                + ": " + e.getMessage() + logTail(), e);
        }
    }

    /** pg_ctl waits (-w) until the server accepts connections or has stopped, for a bounded time (-t). */
    private void pgCtl(String action, String... options) {
        List<String> command = new ArrayList<>(List.of(bin.resolve("pg_ctl").toString(), action, "-D", data.toString(),
            "-w", "-t", String.valueOf(PG_CTL_WAIT_SECONDS)));
        command.addAll(List.of(options));
        run(command);
    }

    /** Runs a PostgreSQL tool, as the postgres user when this JVM is root; a failure tells its output and the log's end. */
    private void run(List<String> command) {
        List<String> full = new ArrayList<>();
        if (asSystemUser) {
            // setpriv rather than runuser or su: no PAM session, which a container may not allow
            full.addAll(List.of("setpriv", "--reuid=" + SYSTEM_USER, "--regid=" + SYSTEM_USER, "--init-groups", "--"));
        }
        full.addAll(command);
        // into a file, not a pipe: the server pg_ctl leaves running could otherwise hold the pipe open
        Path output = dir.resolve("command.out");
        ProcessBuilder builder = new ProcessBuilder(full).directory(dir.toFile())
            .redirectErrorStream(true).redirectOutput(output.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> environment = builder.environment();
        environment.keySet().removeIf(name -> name.startsWith("PG")); // a developer's PGPORT or PGDATA is not this cluster's
        environment.put("LC_ALL", "C");
        String what = String.join(" ", command);
        try {
            Process process = builder.start();
            boolean exited = process.waitFor(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (!exited) {
                process.destroyForcibly().waitFor();
            }
            if (!exited || process.exitValue() != 0) {
                String outcome = exited ? "exit code " + process.exitValue() : "killed after " + COMMAND_TIMEOUT;
                throw new IllegalStateException(what + ": " + outcome + "\n--- its output:\n" + read(output) + logTail());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not run " + what, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + what, e);
        }
    }

    private String logTail() {
        List<String> lines = List.of(read(log).split("\n"));
        return "\n--- the end of " + log + ":\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }

    /*
     * As root, the cluster runs as the postgres user, who must write in dir and reach it. JUnit makes a @TempDir mode
     * 0700, so its parents under java.io.tmpdir get search permission for others (o+x: pass through, not list), rather
     * than the cluster going outside dir, where the caller's clean-up would not remove it. A parent outside
     * java.io.tmpdir (/root, say) is not changed: that fails with a message instead.
     */
    private void letSystemUserWrite(List<Path> paths) throws IOException {
        UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(SYSTEM_USER);
        Path temporary = Path.of(System.getProperty("java.io.tmpdir")).toRealPath();
        for (Path parent = dir.toRealPath().getParent(); parent != null; parent = parent.getParent()) {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(parent);
            if (permissions.contains(PosixFilePermission.OTHERS_EXECUTE) || Files.getOwner(parent).equals(postgres)) {
                continue;
            }
            if (!parent.startsWith(temporary) || parent.equals(temporary)) {
                throw new IllegalStateException("the " + SYSTEM_USER + " user, who runs PostgreSQL for root, cannot reach "
                    + dir + " through " + parent + " (mode " + PosixFilePermissions.toString(permissions)
                    + "): use a directory under java.io.tmpdir (" + temporary + ")");
            }
            permissions.add(PosixFilePermission.OTHERS_EXECUTE);
            Files.setPosixFilePermissions(parent, permissions);
        }
        for (Path path : paths) {
            Files.setOwner(path, postgres);
        }
    }

    private static String quoted(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    private static String secret() {
        byte[] bytes = new byte[16];
        new SecureRandom().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    private static boolean required() {
        return Boolean.getBoolean("firehose.postgres.required") || Boolean.getBoolean("firehose.interop.required");
    }

    /** Looked up once per JVM: where the binaries are, whether this JVM is root, and what is missing, if anything. */
    private static final class Installation {

        static final Optional<Path> BIN = binaries();
        static final boolean ROOT = root();
        static final Optional<String> MISSING = missing();

        private static Optional<String> missing() {
            if (BIN.isEmpty()) {
                return Optional.of("PostgreSQL's initdb and pg_ctl are neither on PATH nor in /usr/lib/postgresql/*/bin: " + INSTALL);
            }
            if (ROOT && !canBecomeSystemUser()) {
                return Optional.of("running as root, PostgreSQL must run as the " + SYSTEM_USER
                    + " user, which is missing or setpriv (util-linux) cannot switch to: " + INSTALL);
            }
            return Optional.empty();
        }

        /** The directory holding initdb and pg_ctl: on PATH first, else the newest /usr/lib/postgresql/VERSION/bin. */
        private static Optional<Path> binaries() {
            for (String entry : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                try {
                    if (!entry.isEmpty() && hasTools(Path.of(entry))) {
                        return Optional.of(Path.of(entry));
                    }
                } catch (InvalidPathException notAPath) {
                    // the next entry
                }
            }
            try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
                return versions.map(version -> version.resolve("bin")).filter(Installation::hasTools)
                    .max(Comparator.comparing(binDir -> binDir.getParent().getFileName().toString(), Installation::compareVersions));
            } catch (IOException none) {
                return Optional.empty();
            }
        }

        private static boolean hasTools(Path dir) {
            return Files.isExecutable(dir.resolve("initdb")) && Files.isExecutable(dir.resolve("pg_ctl"));
        }

        /** 9.6 < 15 < 16: numerically, part by part. */
        private static int compareVersions(String a, String b) {
            String[] as = a.split("\\.");
            String[] bs = b.split("\\.");
            for (int i = 0; i < Math.max(as.length, bs.length); i++) {
                int order = Long.compare(number(as, i), number(bs, i));
                if (order != 0) {
                    return order;
                }
            }
            return 0;
        }

        private static long number(String[] parts, int i) {
            try {
                return i < parts.length ? Long.parseLong(parts[i]) : 0;
            } catch (NumberFormatException notANumber) {
                return -1;
            }
        }

        /** The effective user id, from Linux's /proc; elsewhere, the user's name. */
        private static boolean root() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                    if (line.startsWith("Uid:")) {
                        return "0".equals(line.substring("Uid:".length()).trim().split("\\s+")[1]);
                    }
                }
            } catch (IOException | RuntimeException notLinux) {
                // below
            }
            return "root".equals(System.getProperty("user.name"));
        }

        private static boolean canBecomeSystemUser() {
            try {
                Process process = new ProcessBuilder("setpriv", "--reuid=" + SYSTEM_USER, "--regid=" + SYSTEM_USER, "--init-groups", "--", "true")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    return false;
                }
                return process.exitValue() == 0;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}
