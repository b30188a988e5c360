package broker;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import broker.artemis.ArtemisCouplings;
import broker.artemis.ArtemisPlugins;
import broker.artemis.SessionEnd;
import broker.cluster.ClusterLinks;
import broker.cluster.ClusterWatch;
import broker.config.Account;
import broker.config.BrokerSecurity;
import broker.config.BrokerSettings;
import broker.config.ClusterSettings;
import broker.events.EventIds;
import broker.guard.Guards;
import broker.guard.PublishCheck;
import broker.guard.Refusals;
import broker.guard.SubscriptionLimits;
import broker.observe.BrokerStatistics;
import broker.observe.BrokerView;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.api.core.TransportConfiguration;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.protocol.mqtt.BoundedMQTTProtocolManagerFactory;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTConnection;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTStateManager;
import org.apache.activemq.artemis.core.remoting.impl.invm.InVMAcceptorFactory;
import org.apache.activemq.artemis.core.remoting.impl.invm.InVMConnectorFactory;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyAcceptorFactory;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyConnection;
import org.apache.activemq.artemis.core.remoting.impl.netty.TransportConstants;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.activemq.artemis.spi.core.remoting.Acceptor;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded ActiveMQ Artemis broker, the one class the application talks to: it builds Artemis' configuration from
 * {@link BrokerSettings}, starts and stops the server with Firehose's guards ({@code broker.guard}), changes to Artemis
 * ({@code broker.artemis}) and cluster watch ({@code broker.cluster}), and shows its figures ({@link BrokerView}).
 */
public final class EmbeddedBroker extends ServiceSupport implements BrokerView {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedBroker.class);

    static final String VERSION = Objects.requireNonNullElse(EmbeddedBroker.class.getPackage().getImplementationVersion(), "dev");

    /** Slots in each chunk of a subscription queue's intake buffer (a power of two). */
    static final int SUBSCRIPTION_BUFFER_CHUNK = 128;

    /**
     * The age, in ms, below which a topic's address that Artemis made is never removed; older and with no subscription
     * (wildcard ones included, {@code LocalBindingCount}), Artemis' reaper (every 30 s, at its second sight of it)
     * removes it, also when it never had one (a published topic nobody follows). Removed at once when its last
     * subscription went, as Artemis does by default, it raced a SUBSCRIBE to the same topic that had just made it anew:
     * Artemis then threw (an ERROR, a stack trace) and refused the subscription, as a client reconnected while another
     * left.
     */
    static final long ADDRESS_LINGER_MS = 10_000;

    /** How often Artemis looks for MQTT sessions whose expiry interval has passed since their disconnect. */
    static final long SESSION_SCAN_MILLIS = 500;

    private static final AtomicInteger IN_VM_IDS = new AtomicInteger();

    private final BrokerSettings settings;
    /** Listener name to port, in the order they are opened. */
    private final Map<String, Integer> listeners = new LinkedHashMap<>();
    private final Guards guards;
    private final ArtemisPlugins plugins;
    private final BrokerStatistics statistics;
    private final ClusterWatch clusterWatch;
    private final EventIds ids = new EventIds();
    /** This broker's in-VM acceptor, for the application's own core clients: unique in the JVM (tests run several). */
    private final int inVmId = IN_VM_IDS.incrementAndGet();
    private volatile ActiveMQServer server;
    private volatile BrokerSecurity security;
    private volatile MQTTStateManager mqttState;
    private volatile Thread exitHook;

    public EmbeddedBroker(BrokerSettings settings) {
        this.settings = settings;
        this.guards = new Guards(settings, this::listenerOf, this::server,
                (user, topic) -> security != null && security.mayPublishTopic(user, topic), this::holderOf, ids);
        this.plugins = new ArtemisPlugins(settings.subscriberBacklog(), settings.maxQueuedMessages(), settings.eventLoopDelivery(),
                settings.cluster().enabled(), guards.subscriptionLimits());
        this.statistics = new BrokerStatistics(plugins::delivered, plugins::replaced, guards::connectionsRefused);
        guards.holdBackPublishers(settings.backPressureMark(), plugins::subscriptionQueues, statistics);
        this.clusterWatch = new ClusterWatch(settings.cluster(), this::server);
    }

    @Override
    protected void doStart() throws Exception {
        ArtemisCouplings.check(); // before any listener opens
        Configuration config = configuration();
        plugins.register(config);
        List<Account> accounts = new ArrayList<>(settings.publishers());
        accounts.add(settings.internal());
        security = new BrokerSecurity(accounts, config.getWildcardConfiguration(), BoundedMQTTProtocolManagerFactory::listenerOf,
                clientListeners(), settings.internal().name());
        server = plugins.newServer(config, security);
        server.addProtocolManagerFactory(new BoundedMQTTProtocolManagerFactory(this::addHandlers, settings.eventLoopConnect()));
        clientListeners().forEach(name -> server.getServiceRegistry().addAcceptorFactory(name, guards.acceptors()));
        guards.open();
        server.start();
        plugins.started(server);
        mqttState = MQTTStateManager.getInstance(server);
        guards.start(server);
        // a broker that could not open a listener gives up its start at once (and never becomes active)
        if (!server.getRemotingService().getAcceptors().values().stream().allMatch(Acceptor::isStarted)) {
            server.stop();
            server = null;
            guards.stop(); // standard error as it was (WebSocketTraces): no stop follows a failed start
            throw new IllegalStateException("cannot listen for " + String.join(", ", taken())
                    + " (is the port in use?); see the broker's error above");
        }
        if (!server.waitForActivation(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the broker did not become active within 30 s");
        }
        plugins.active(server);
        clusterWatch.start(server);
        LOG.info("Broker listening: {}; publishers: {}; {}", listening(),
                settings.publishers().isEmpty() ? "none" : settings.publishers(), settings.cluster());
    }

    /**
     * Stops the broker when the JVM exits unless {@code stoppedElsewhere} says someone else does (Camel, once the
     * application has started: it stops the routes first and the broker last). A SIGTERM while the application is
     * still starting exits without Camel stopping anything: the broker would die with its journal open.
     */
    public void stopOnExitUnless(BooleanSupplier stoppedElsewhere) {
        exitHook = new Thread(() -> {
            if (!stoppedElsewhere.getAsBoolean() && isRunAllowed()) {
                LOG.info("Stopping the broker: the application was stopped while it was starting");
                stop();
            }
        }, "firehose-broker-exit");
        Runtime.getRuntime().addShutdownHook(exitHook);
    }

    /** Firehose's handlers of each MQTT connection, right after the MQTT decoder ({@link Guards#addHandlers}). */
    private void addHandlers(ChannelPipeline pipeline) {
        guards.addHandlers(pipeline, BoundedMQTTProtocolManagerFactory.decoderName(pipeline), statistics);
    }

    /** True when another node refused this one's cluster password (its links stay down until a restart). */
    public boolean clusterRefused() {
        return clusterWatch.refused();
    }

    @Override
    protected void doStop() throws Exception {
        if (exitHook != null && Thread.currentThread() != exitHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(exitHook);
            } catch (IllegalStateException exiting) {
                // the JVM is exiting: the hook finds the broker stopped
            }
        }
        exitHook = null;
        guards.stop();
        clusterWatch.stop();
        plugins.stopTasks();
        if (server != null) {
            SessionEnd.endAll(server, 10_000);
            server.stop();
            server = null;
            mqttState = null;
            plugins.stopped();
            LOG.info("Broker stopped");
        }
    }

    /**
     * Where the application's own core clients connect, inside this JVM (as the internal account, the only one
     * {@link BrokerSecurity} lets in there).
     */
    public TransportConfiguration inVmConnector() {
        return new TransportConfiguration(InVMConnectorFactory.class.getName(),
                Map.of(org.apache.activemq.artemis.core.remoting.impl.invm.TransportConstants.SERVER_ID_PROP_NAME, inVmId));
    }

    /** The account the application's own clients use. */
    public Account internalAccount() {
        return settings.internal();
    }

    @Override
    public ActiveMQServer server() {
        return server;
    }

    /** The port a listener ({@code mqtt}, {@code mqtt-ws}, {@code mqtt-tls}, {@code mqtt-wss}) is open on; 0 if it is off. */
    public int port(String listener) {
        return listeners.getOrDefault(listener, 0);
    }

    @Override
    public int linkedNodes() {
        return clusterWatch.linkedNodes();
    }

    @Override
    public long remoteSubscriptions() {
        return clusterWatch.remoteSubscriptions();
    }

    @Override
    public long subscriptionsRepaired() {
        return plugins.subscriptionsRepaired();
    }

    public ClusterSettings cluster() {
        return settings.cluster();
    }

    @Override
    public List<String> refusalReasons() {
        return Refusals.REASONS;
    }

    @Override
    public long refused(String listener, String reason) {
        return guards.refused(listener, reason);
    }

    @Override
    public List<String> subscriptionRefusalReasons() {
        return SubscriptionLimits.REASONS;
    }

    @Override
    public long subscriptionsRefused(String reason) {
        return guards.subscriptionsRefused(reason);
    }

    /** The connection that holds an MQTT client id now, if any (Artemis' own record of them). */
    private Channel holderOf(String clientId) {
        MQTTStateManager state = mqttState;
        MQTTConnection connection = state == null ? null : state.getConnectedClient(clientId);
        return connection != null && connection.getTransportConnection() instanceof NettyConnection netty ? netty.getChannel() : null;
    }

    @Override
    public long subscriberBacklog() {
        return plugins.subscriberBacklog();
    }

    @Override
    public long willsDropped() {
        return guards.willsDropped();
    }

    @Override
    public List<String> publishRefusalReasons() {
        return PublishCheck.REASONS;
    }

    @Override
    public long publishesRefused(String reason) {
        return guards.publishesRefused(reason);
    }

    @Override
    public List<String> clientListeners() {
        return listeners.keySet().stream().filter(name -> !name.equals(ClusterLinks.ACCEPTOR)).toList();
    }

    private String listenerOf(int port) {
        for (Map.Entry<String, Integer> listener : listeners.entrySet()) {
            if (listener.getValue() == port) {
                return listener.getKey();
            }
        }
        return String.valueOf(port);
    }

    @Override
    public BrokerStatistics statistics() {
        return statistics;
    }

    /** Mosquitto's {@code $SYS/broker/...} figures, topic to text value. */
    public Map<String, String> sysTopics() {
        ActiveMQServer current = server;
        Map<String, String> tree = new LinkedHashMap<>();
        if (current == null) {
            return tree;
        }
        tree.put("$SYS/broker/version", "firehose version " + VERSION + " (ActiveMQ Artemis " + current.getVersion().getFullVersion() + ")");
        tree.put("$SYS/broker/uptime", current.getUptimeMillis() / 1000 + " seconds");
        tree.put("$SYS/broker/clients/connected", String.valueOf(current.getConnectionCount()));
        tree.put("$SYS/broker/clients/total", String.valueOf(current.getTotalConnectionCount()));
        tree.put("$SYS/broker/messages/received", String.valueOf(statistics.messagesReceived()));
        tree.put("$SYS/broker/messages/sent", String.valueOf(statistics.messagesSent()));
        tree.put("$SYS/broker/messages/dropped", String.valueOf(statistics.messagesDropped()));
        return tree;
    }

    private String listening() {
        List<String> all = new ArrayList<>();
        listeners.forEach((name, port) -> all.add(name + " " + settings.host() + ":" + port));
        return String.join(", ", all);
    }

    /** The listeners whose port cannot be bound now (all of them, if none can be told apart). */
    private List<String> taken() {
        List<String> taken = new ArrayList<>();
        listeners.forEach((name, port) -> {
            try (ServerSocket probe = new ServerSocket()) {
                probe.bind(new InetSocketAddress(settings.host(), port));
            } catch (IOException e) {
                taken.add(name + " on " + settings.host() + ":" + port);
            }
        });
        return taken.isEmpty() ? List.copyOf(listeners.keySet()) : taken;
    }

    @Override
    public boolean accepting() {
        ActiveMQServer current = server;
        return current != null && current.isActive()
                && current.getRemotingService().getAcceptors().values().stream().allMatch(Acceptor::isStarted);
    }

    private Configuration configuration() throws Exception {
        listeners.clear();
        Path data = settings.dataDir().toAbsolutePath();
        Files.createDirectories(data);
        ConfigurationImpl config = new ConfigurationImpl();
        config.setName("firehose");
        config.setPersistenceEnabled(settings.persistence());
        // false: a QoS 1 PUBACK does not wait for the journal write; true: it waits for the write and the disk (fsync).
        // (Waiting for the write alone would keep what a killed process acknowledged, but then Artemis hands messages
        // to their queues once the write completes, and swaps consecutive ones now and then: docs/history.md.)
        config.setJournalSyncNonTransactional(settings.journalSync());
        config.setSecurityEnabled(true);
        if (settings.threads() > 0) {
            config.setThreadPoolMaxSize(settings.threads()); // routing of published messages runs on this pool
        }
        config.setJMXManagementEnabled(false);
        // it times every routing and delivery step (a few % of the broker's CPU) to log a stuck one
        config.setCriticalAnalyzer(false);
        // MQTT 5 sessions end within half a second of their Session Expiry Interval (Artemis looks every 5 s)
        config.setMqttSessionScanInterval(SESSION_SCAN_MILLIS);
        config.setBrokerInstance(data.toFile());
        config.setJournalDirectory(data.resolve("journal").toString());
        config.setBindingsDirectory(data.resolve("bindings").toString());
        config.setPagingDirectory(data.resolve("paging").toString());
        config.setLargeMessagesDirectory(data.resolve("large-messages").toString());
        config.setNodeManagerLockDirectory(data.toString());
        // A stalled subscriber keeps only its newest messages: each subscription is a ring queue.
        config.addAddressSetting("#", new AddressSettings()
                .setDefaultRingSize(settings.subscriberBacklog())
                // Artemis' default first chunk of a queue's intake buffer is 8,192 slots (32 KiB) for every
                // subscription, most of a subscriber's heap; it grows in chunks as needed
                .setInitialQueueBufferSize(SUBSCRIPTION_BUFFER_CHUNK)
                // MQTT has no message groups: spares reading a group id property for every delivery
                .setDefaultGroupBuckets(0)
                .setDeadLetterAddress(SimpleString.of("DLQ"))
                .setExpiryAddress(SimpleString.of("ExpiryQueue"))
                .setAutoCreateAddresses(true)
                .setAutoDeleteAddresses(true)
                .setAutoDeleteAddressesDelay(ADDRESS_LINGER_MS)
                // counted from the address' creation, not from its last subscription's removal: a published topic's
                // address that nobody subscribed to is reaped too
                .setAutoDeleteAddressesSkipUsageCheck(true));
        // Artemis' own MQTT bookkeeping (session state, retained messages) must never be trimmed, nor its notifications
        // (a node learns the other nodes' subscriptions from them: one dropped is a subscriber that misses events)
        config.addAddressSetting("$sys.mqtt.#", new AddressSettings().setDefaultRingSize(-1L));
        config.addAddressSetting(config.getManagementNotificationAddress() + ".#", new AddressSettings().setDefaultRingSize(-1L));
        config.addAddressSetting(config.getManagementNotificationAddress().toString(), new AddressSettings().setDefaultRingSize(-1L));

        acceptor(config, "mqtt", settings.mqttPort(), false);
        acceptor(config, "mqtt-ws", settings.wsPort(), false);
        if (settings.tlsConfigured()) {
            acceptor(config, "mqtt-tls", settings.tlsPort(), true);
            acceptor(config, "mqtt-wss", settings.wssPort(), true);
        }
        if (listeners.isEmpty()) {
            throw new IllegalArgumentException("every broker listener is turned off (firehose.broker.*-port)");
        }
        config.addAcceptorConfiguration(new TransportConfiguration(InVMAcceptorFactory.class.getName(),
                Map.of(org.apache.activemq.artemis.core.remoting.impl.invm.TransportConstants.SERVER_ID_PROP_NAME, inVmId), "in-vm"));
        ClusterSettings cluster = settings.cluster();
        if (cluster.enabled()) {
            ClusterLinks.configure(config, cluster, settings.host(), settings.maxPacketSize());
            // what waits for a node: the newest events for its subscriptions, as many as one subscriber's backlog
            config.addAddressSetting(config.getInternalNamingPrefix() + "sf.#", new AddressSettings()
                    .setDefaultRingSize(settings.subscriberBacklog()));
            listeners.put(ClusterLinks.ACCEPTOR, cluster.port());
        }
        return config;
    }

    private void acceptor(Configuration config, String name, int port, boolean tls) {
        if (port <= 0) {
            return;
        }
        Map<String, Object> params = new HashMap<>();
        params.put(TransportConstants.HOST_PROP_NAME, settings.host());
        params.put(TransportConstants.PORT_PROP_NAME, port);
        params.put(TransportConstants.PROTOCOLS_PROP_NAME, "MQTT");
        params.put(TransportConstants.HANDSHAKE_TIMEOUT, settings.handshakeTimeoutSeconds()); // on the event loop: HandshakeTimeout
        if (settings.ioThreads() > 0) {
            params.put(TransportConstants.REMOTING_THREADS_PROPNAME, settings.ioThreads()); // Netty event loops
        }
        params.put(TransportConstants.WEB_SOCKET_MAX_FRAME_PAYLOAD_LENGTH, Math.max(65_536, settings.maxPacketSize() + 16));
        if (tls) {
            params.put(TransportConstants.SSL_ENABLED_PROP_NAME, true);
            params.put(TransportConstants.KEYSTORE_PATH_PROP_NAME, settings.keystore());
            params.put(TransportConstants.KEYSTORE_PASSWORD_PROP_NAME, settings.keystorePassword());
            params.put(TransportConstants.KEYSTORE_TYPE_PROP_NAME, "PKCS12");
        }
        Map<String, Object> mqtt = new HashMap<>();
        mqtt.put("defaultMqttSessionExpiryInterval", settings.sessionExpirySeconds());
        mqtt.put("maximumPacketSize", settings.maxPacketSize());
        mqtt.put("serverKeepAlive", settings.serverKeepAliveSeconds());
        config.addAcceptorConfiguration(new TransportConfiguration(NettyAcceptorFactory.class.getName(), params, name, mqtt));
        listeners.put(name, port);
    }
}
