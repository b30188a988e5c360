package gerrit;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import firehose.Await;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.keyprovider.FileKeyPairProvider;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;

/**
 * An Apache MINA SSHD server playing Gerrit: {@code gerrit stream-events} writes whatever the test sends, one line
 * per event, and never ends on its own.
 */
public final class FakeGerrit implements AutoCloseable {

    public static final String USER = "firehose";
    public static final Path KEYS = Path.of("src/test/resources/gerrit/keys");

    private final SshServer sshd;
    private final PublicKey hostKey;
    private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
    private final AtomicInteger opened = new AtomicInteger();
    private final List<String> commands = new CopyOnWriteArrayList<>();

    public FakeGerrit() throws IOException {
        this(KEYS.resolve("host_ed25519"));
    }

    public FakeGerrit(Path hostKeyFile) throws IOException {
        FileKeyPairProvider hostKeys = new FileKeyPairProvider(hostKeyFile);
        try {
            hostKey = hostKeys.loadKeys(null).iterator().next().getPublic();
        } catch (Exception e) {
            throw new IOException(e);
        }
        List<PublicKey> authorized = List.of(publicKey("id_ed25519.pub"), publicKey("id_ed25519_pass.pub"), publicKey("id_rsa.pub"));
        sshd = SshServer.setUpDefaultServer();
        sshd.setHost("127.0.0.1");
        sshd.setPort(0);
        CoreModuleProperties.TCP_NODELAY.set(sshd, true); // as Gerrit's sshd.tcpNoDelay
        sshd.setKeyPairProvider(hostKeys);
        sshd.setPublickeyAuthenticator((user, key, session) ->
                USER.equals(user) && authorized.stream().anyMatch(k -> KeyUtils.compareKeys(k, key)));
        sshd.setCommandFactory((channel, command) -> {
            commands.add(command);
            return new Stream();
        });
        sshd.start();
    }

    static PublicKey publicKey(String file) throws IOException {
        try {
            return AuthorizedKeyEntry.readAuthorizedKeys(KEYS.resolve(file)).get(0)
                    .resolvePublicKey(null, PublicKeyEntryResolver.FAILING);
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    public int port() {
        return sshd.getPort();
    }

    /** A known_hosts line for this server, as {@code ssh-keyscan -p PORT 127.0.0.1} prints it. */
    public String knownHostsLine() {
        return "[127.0.0.1]:" + port() + " " + PublicKeyEntry.toString(hostKey);
    }

    public Path writeKnownHosts(Path file) throws IOException {
        Files.writeString(file, knownHostsLine() + "\n");
        return file;
    }

    public List<String> commands() {
        return List.copyOf(commands);
    }

    /** Event streams opened since start (reconnects included). */
    public int opened() {
        return opened.get();
    }

    public void awaitOpened(int count, Duration timeout) throws InterruptedException {
        Await.until(timeout, () -> opened.get() >= count, () -> "streams opened: " + opened.get() + ", wanted " + count);
    }

    public void send(String line) throws IOException {
        sendRaw((line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    public void sendRaw(byte[] bytes) throws IOException {
        for (Stream stream : streams) {
            stream.write(bytes);
        }
    }

    /** Closes every connection, as a Gerrit restart would: bytes already written (even half a line) are delivered. */
    public void dropConnections() throws IOException {
        for (Stream stream : streams) {
            stream.channel.getSession().close(false); // what was written still goes out, then the socket closes
        }
        streams.clear();
    }

    @Override
    public void close() throws IOException {
        sshd.stop(true);
    }

    private final class Stream implements Command {
        private OutputStream out;
        private ChannelSession channel;

        @Override
        public void setOutputStream(OutputStream out) {
            this.out = out;
        }

        @Override
        public void setInputStream(java.io.InputStream in) {
        }

        @Override
        public void setErrorStream(OutputStream err) {
        }

        @Override
        public void setExitCallback(ExitCallback callback) {
        }

        @Override
        public void start(ChannelSession channel, Environment env) {
            this.channel = channel;
            streams.add(this);
            opened.incrementAndGet();
        }

        synchronized void write(byte[] bytes) throws IOException {
            out.write(bytes);
            out.flush();
        }

        @Override
        public void destroy(ChannelSession channel) {
            streams.remove(this);
        }
    }

    public static final String REVISION = "5f6e1c3a9b2d4e8f7a6b5c4d3e2f1a0b9c8d7e6f";

    /**
     * An event of {@code type} about a change of {@code project} as Gerrit writes one: what its schema requires (the
     * change, the patch set), then {@code extra} members. (The routes check every event they publish against its schema,
     * and {@code FirehoseApp.close()} fails a test that published one off it.)
     */
    public static String changeEvent(String type, String project, String extra) {
        return "{\"type\":\"" + type + "\",\"project\":\"" + project + "\",\"change\":{\"project\":\"" + project
                + "\",\"branch\":\"master\",\"id\":\"I" + REVISION + "\",\"number\":4711,\"subject\":\"A change\"},"
                + "\"patchSet\":{\"number\":1,\"revision\":\"" + REVISION + "\",\"ref\":\"refs/changes/11/4711/1\"},"
                + "\"eventCreatedOn\":1765000000" + extra + "}";
    }

}
