package gerrit;

import java.nio.file.Path;
import java.time.Duration;

import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.Producer;
import org.apache.camel.support.DefaultEndpoint;

/**
 * A never-ending {@code gerrit stream-events} over SSH. camel-ssh's consumer runs a command and returns its
 * output when the command ends, so it cannot read this stream; this endpoint reads it line by line on MINA SSHD.
 */
public class GerritStreamEndpoint extends DefaultEndpoint {

    private final String host;
    private final int port;
    private String username;
    private String keyFile;
    private String keyPassphrase;
    private String knownHosts;
    private String command = "gerrit stream-events";
    private String topic = "gerrit";
    private int keepAlive = 15;
    private int keepAliveMaxMissed = 3;
    private int maxBackoff = 60;
    private int connectTimeout = 30;
    private int maxLineLength = 16 << 20;

    GerritStreamEndpoint(String uri, GerritStreamComponent component, String host, int port) {
        super(uri, component);
        this.host = host;
        this.port = port;
    }

    @Override
    public Producer createProducer() {
        throw new UnsupportedOperationException("gerrit-stream only reads events");
    }

    @Override
    public Consumer createConsumer(Processor processor) throws Exception {
        if (username == null || keyFile == null || knownHosts == null) {
            throw new IllegalArgumentException("gerrit-stream:" + host + ":" + port + " needs username, keyFile and knownHosts");
        }
        GerritStreamConsumer consumer = new GerritStreamConsumer(this, processor);
        configureConsumer(consumer);
        return consumer;
    }

    /** {@code host:port}, how logs, health and metrics name this server. */
    public String server() {
        return host + ":" + port;
    }

    public String getHost() {
        return host;
    }

    public int getPort() {
        return port;
    }

    public String getUsername() {
        return username;
    }

    public void setUsername(String username) {
        this.username = username;
    }

    public Path keyPath() {
        return Path.of(keyFile);
    }

    public String getKeyFile() {
        return keyFile;
    }

    /** OpenSSH private key (ed25519, ECDSA or RSA). */
    public void setKeyFile(String keyFile) {
        this.keyFile = keyFile;
    }

    public String getKeyPassphrase() {
        return keyPassphrase;
    }

    /** Passphrase of the key, if it has one: plain, {@code env:NAME} or {@code file:/path}. */
    public void setKeyPassphrase(String keyPassphrase) {
        this.keyPassphrase = keyPassphrase;
    }

    public Path knownHostsPath() {
        return Path.of(knownHosts);
    }

    public String getKnownHosts() {
        return knownHosts;
    }

    /** OpenSSH known_hosts file that must hold the server's key ({@code [host]:29418 ssh-ed25519 ...}). */
    public void setKnownHosts(String knownHosts) {
        this.knownHosts = knownHosts;
    }

    public String getCommand() {
        return command;
    }

    /** The remote command, e.g. {@code gerrit stream-events -s comment-added -s change-merged}. */
    public void setCommand(String command) {
        this.command = command;
    }

    public String getTopic() {
        return topic;
    }

    /** Base topic: events get the {@code FirehoseTopic} header {@code <topic>/<project>/<event type>}. */
    public void setTopic(String topic) {
        this.topic = topic;
    }

    public Duration keepAliveInterval() {
        return Duration.ofSeconds(keepAlive);
    }

    public int getKeepAlive() {
        return keepAlive;
    }

    /** Seconds between SSH keepalives; 0 turns them off. */
    public void setKeepAlive(int keepAlive) {
        this.keepAlive = keepAlive;
    }

    public int getKeepAliveMaxMissed() {
        return keepAliveMaxMissed;
    }

    /** Unanswered keepalives after which the server is taken for dead and the connection dropped. */
    public void setKeepAliveMaxMissed(int keepAliveMaxMissed) {
        this.keepAliveMaxMissed = keepAliveMaxMissed;
    }

    public int getMaxBackoff() {
        return maxBackoff;
    }

    /** Longest wait between reconnect attempts, seconds (they start at 1 s and double). */
    public void setMaxBackoff(int maxBackoff) {
        this.maxBackoff = maxBackoff;
    }

    public int getConnectTimeout() {
        return connectTimeout;
    }

    /** Seconds for connecting, authenticating and starting the command. */
    public void setConnectTimeout(int connectTimeout) {
        this.connectTimeout = connectTimeout;
    }

    public int getMaxLineLength() {
        return maxLineLength;
    }

    /** Longest event line accepted, bytes; a longer one is skipped and counted. */
    public void setMaxLineLength(int maxLineLength) {
        this.maxLineLength = maxLineLength;
    }
}
