package gerrit;

import broker.config.Secret;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.apache.camel.support.DefaultConsumer;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.config.hosts.KnownHostEntry;
import org.apache.sshd.client.keyverifier.KnownHostsServerKeyVerifier;
import org.apache.sshd.client.keyverifier.RejectAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.NamedFactory;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.config.keys.FilePasswordProvider;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.keyprovider.FileKeyPairProvider;
import org.apache.sshd.core.CoreModuleProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import publish.Topic;

/**
 * Keeps one SSH session to Gerrit running {@code stream-events} for as long as the route runs: each line becomes an
 * exchange (body: the line's exact bytes; header {@link #EVENT}: its {@link GerritEvent}; {@link Topic#HEADER}: its topic). Drops of any kind end in a
 * reconnect after an exponential, jittered delay; a dead peer is found by unanswered keepalives.
 */
public class GerritStreamConsumer extends DefaultConsumer {

    /** Header with the {@link GerritEvent} parsed from the line. */
    public static final String EVENT = "GerritEvent";

    private static final Logger LOG = LoggerFactory.getLogger(GerritStreamConsumer.class);
    private static final Duration FIRST_RETRY = Duration.ofSeconds(1);

    private final GerritStreamEndpoint endpoint;
    private Stats stats;
    private SshClient client;
    private CheckedKnownHosts knownHosts;
    private ExecutorService thread;
    private volatile ClientSession session;
    private volatile boolean connected;
    private volatile String state = "not connected yet";
    private HealthCheck health;

    GerritStreamConsumer(GerritStreamEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
        this.endpoint = endpoint;
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        if (!Files.isReadable(endpoint.keyPath())) {
            LOG.warn("Gerrit {}: key file {} is not readable; connecting will fail until it is", endpoint.server(), endpoint.keyPath());
        }
        if (!Files.isReadable(endpoint.knownHostsPath())) {
            LOG.warn("Gerrit {}: known_hosts file {} is not readable; every host key will be refused", endpoint.server(), endpoint.knownHostsPath());
        }
        client = SshClient.setUpDefaultClient();
        // AES-GCM first: the JVM runs it on the CPU's AES instructions, where MINA's default, ChaCha20, is plain Java
        List<NamedFactory<Cipher>> ciphers = new ArrayList<>();
        for (BuiltinCiphers cipher : List.of(BuiltinCiphers.aes128gcm, BuiltinCiphers.aes256gcm, BuiltinCiphers.aes128ctr,
                BuiltinCiphers.aes256ctr, BuiltinCiphers.cc20p1305_openssh)) {
            if (cipher.isSupported()) {
                ciphers.add(cipher);
            }
        }
        client.setCipherFactories(ciphers);
        knownHosts = new CheckedKnownHosts(endpoint.knownHostsPath());
        client.setServerKeyVerifier(knownHosts);
        client.setUserAuthFactories(List.of(UserAuthPublicKeyFactory.INSTANCE));
        FileKeyPairProvider keys = new FileKeyPairProvider(endpoint.keyPath());
        String passphrase = endpoint.getKeyPassphrase();
        if (passphrase != null && !passphrase.isEmpty()) {
            keys.setPasswordFinder(FilePasswordProvider.of(Secret.resolve(passphrase)));
        }
        client.setKeyIdentityProvider(keys);
        CoreModuleProperties.HEARTBEAT_INTERVAL.set(client, endpoint.keepAliveInterval());
        CoreModuleProperties.HEARTBEAT_NO_REPLY_MAX.set(client, endpoint.getKeepAliveMaxMissed());
        // a quiet stream is not an idle one: only missed keepalives end a session
        CoreModuleProperties.IDLE_TIMEOUT.set(client, Duration.ZERO);
        CoreModuleProperties.TCP_NODELAY.set(client, true);
        client.start();

        stats = new Stats(getEndpoint().getCamelContext().getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class),
                getRouteId() == null ? endpoint.server() : getRouteId(), endpoint.server());
        health = new HealthCheck(getRouteId() == null ? endpoint.server() : getRouteId());
        HealthCheckRegistry registry = HealthCheckRegistry.get(getEndpoint().getCamelContext());
        if (registry != null) {
            registry.register(health);
        }
        thread = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newSingleThreadExecutor(this, "gerrit-stream " + endpoint.server());
        thread.submit(this::streamForever);
    }

    @Override
    protected void doStop() throws Exception {
        HealthCheckRegistry registry = HealthCheckRegistry.get(getEndpoint().getCamelContext());
        if (registry != null && health != null) {
            registry.unregister(health);
        }
        ClientSession current = session;
        if (current != null) {
            current.close(true);
        }
        if (thread != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownNow(thread);
            thread.awaitTermination(10, TimeUnit.SECONDS);
        }
        if (client != null) {
            client.stop();
        }
        super.doStop();
    }

    public Stats stats() {
        return stats;
    }

    private void streamForever() {
        Backoff backoff = new Backoff(FIRST_RETRY, Duration.ofSeconds(endpoint.getMaxBackoff()), ThreadLocalRandom.current());
        while (isRunAllowed() && !isStoppingOrStopped()) {
            try {
                stream(backoff);
                state = "the stream ended";
            } catch (Exception e) {
                state = knownHosts.takeRefusal().orElseGet(() -> describe(e));
            }
            if (!isRunAllowed() || isStoppingOrStopped()) {
                return;
            }
            Duration delay = backoff.next();
            stats.reconnects.increment();
            LOG.warn("Gerrit {}: {}; reconnecting in {} ms", endpoint.server(), state, delay.toMillis());
            try {
                Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void stream(Backoff backoff) throws Exception {
        Duration timeout = Duration.ofSeconds(endpoint.getConnectTimeout());
        try (ClientSession ssh = client.connect(endpoint.getUsername(), endpoint.getHost(), endpoint.getPort())
                .verify(timeout).getClientSession()) {
            session = ssh;
            ssh.auth().verify(timeout);
            ByteArrayOutputStream stderr = new ByteArrayOutputStream();
            AtomicBoolean sawEvents = new AtomicBoolean();
            LineSplitter lines = new LineSplitter(endpoint.getMaxLineLength(), line -> {
                sawEvents.set(true);
                handle(line);
            });
            try (ChannelExec channel = ssh.createExecChannel(endpoint.getCommand())) {
                channel.setOut(lines);
                channel.setErr(stderr);
                channel.open().verify(timeout);
                connected = true;
                state = "connected";
                LOG.info("Gerrit {}: reading '{}' as {}", endpoint.server(), endpoint.getCommand(), endpoint.getUsername());
                // events are handled as they arrive, in the session's thread; here we only wait for the end
                channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), 0L);
            } finally {
                if (sawEvents.get()) {
                    backoff.reset();
                }
                if (lines.midLine()) {
                    stats.skip("truncated");
                    LOG.warn("Gerrit {}: the stream ended inside a line; that partial event is skipped", endpoint.server());
                }
            }
            String err = stderr.toString(StandardCharsets.UTF_8).strip();
            if (!err.isEmpty()) {
                state = "the command ended: " + shorten(err.getBytes(StandardCharsets.UTF_8));
                throw new IOException(state);
            }
        } finally {
            connected = false;
            session = null;
        }
    }

    private void handle(byte[] line) {
        stats.received.increment();
        if (line == LineSplitter.TOO_LONG) {
            stats.skip("too-long");
            LOG.warn("Gerrit {}: skipped an event line over {} bytes", endpoint.server(), endpoint.getMaxLineLength());
            return;
        }
        GerritEvent event;
        try {
            event = GerritEvent.parse(line);
        } catch (GerritEvent.NotAnEvent e) {
            stats.skip("not-json");
            LOG.warn("Gerrit {}: skipped a line that is {}: {}", endpoint.server(), e.getMessage(), shorten(line));
            return;
        }
        Exchange exchange = createExchange(false);
        exchange.getMessage().setBody(line);
        exchange.getMessage().setHeader(EVENT, event);
        exchange.getMessage().setHeader(Topic.HEADER, event.topic(endpoint.getTopic()));
        try {
            getProcessor().process(exchange);
        } catch (Exception e) {
            exchange.setException(e);
        }
        if (exchange.getException() != null) {
            stats.failed.increment();
            getExceptionHandler().handleException("Gerrit " + endpoint.server() + ": could not publish a " + event.type() + " event",
                    exchange, exchange.getException());
        } else {
            stats.published.increment();
        }
        releaseExchange(exchange, false);
    }

    static String shorten(byte[] line) {
        String text = new String(line, 0, Math.min(line.length, 200), StandardCharsets.UTF_8).replaceAll("\\p{Cntrl}", "?");
        return line.length > 200 ? text + "... (" + line.length + " bytes)" : text;
    }

    private static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return root == e ? message : e.getClass().getSimpleName() + ": " + message;
    }

    /** known_hosts checking that says why it refused a key, for logs and health. */
    private static final class CheckedKnownHosts extends KnownHostsServerKeyVerifier {
        private volatile String refusal;

        CheckedKnownHosts(Path file) {
            super(RejectAllServerKeyVerifier.INSTANCE, file);
        }

        @Override
        protected boolean acceptUnknownHostKey(ClientSession session, SocketAddress remote, PublicKey key) {
            refusal = "unknown host key " + KeyUtils.getKeyType(key) + " " + KeyUtils.getFingerPrint(key) + " from " + remote
                    + ": refused, it is not in " + getPath();
            return false;
        }

        @Override
        public boolean acceptModifiedServerKey(ClientSession session, SocketAddress remote, KnownHostEntry entry,
                                               PublicKey expected, PublicKey actual) {
            refusal = "host key of " + remote + " CHANGED: " + getPath() + " has " + KeyUtils.getFingerPrint(expected)
                    + ", the server offered " + KeyUtils.getFingerPrint(actual) + "; refused";
            return false;
        }

        Optional<String> takeRefusal() {
            String r = refusal;
            refusal = null;
            return Optional.ofNullable(r);
        }
    }

    /** DOWN while the stream is not open, with the reason. */
    private final class HealthCheck extends AbstractHealthCheck {
        HealthCheck(String id) {
            super("firehose", "gerrit-" + id);
        }

        /** Gerrit being away does not stop the broker serving its subscribers: not in /observe/health/ready (a pod stays in its Service). */
        @Override
        public boolean isReadiness() {
            return false;
        }

        @Override
        protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
            builder.detail("server", endpoint.server());
            if (connected) {
                builder.up();
            } else {
                builder.message(state).down();
            }
        }
    }

    /** Per-server counters, also on /observe/metrics as firehose_gerrit_*{route=...,server=...}. */
    public static final class Stats {
        private final MeterRegistry registry;
        private final String route;
        private final String server;
        private final Counter received;
        private final Counter published;
        private final Counter failed;
        private final Counter reconnects;
        private final Map<String, Counter> skipped = new ConcurrentHashMap<>();

        Stats(MeterRegistry metrics, String route, String server) {
            this.registry = metrics != null ? metrics : new SimpleMeterRegistry();
            this.route = route;
            this.server = server;
            received = counter("firehose.gerrit.events.received", "event lines read");
            published = counter("firehose.gerrit.events.published", "events handed to the broker");
            failed = counter("firehose.gerrit.events.failed", "events that could not be handed to the broker");
            reconnects = counter("firehose.gerrit.reconnects", "reconnect attempts after a drop or refusal");
            List.of("not-json", "too-long", "truncated").forEach(this::skipped);
        }

        private Counter counter(String name, String description) {
            return Counter.builder(name).description(description).tag("route", route).tag("server", server).register(registry);
        }

        void skip(String reason) {
            skipped(reason).increment();
        }

        private Counter skipped(String reason) {
            return skipped.computeIfAbsent(reason, r -> Counter.builder("firehose.gerrit.events.skipped")
                    .description("lines that are not events").tag("route", route).tag("server", server).tag("reason", r)
                    .register(registry));
        }

        public long received() {
            return (long) received.count();
        }

        public long published() {
            return (long) published.count();
        }

        public long skipped() {
            return (long) skipped.values().stream().mapToDouble(Counter::count).sum();
        }

        public long reconnects() {
            return (long) reconnects.count();
        }
    }
}
