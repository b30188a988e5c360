package firehose;

import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import broker.EmbeddedBroker;
import broker.config.Account;
import broker.config.BrokerSettings;
import broker.config.Secret;
import broker.config.TopicFilter;
import broker.observe.BrokerHealthCheck;
import broker.observe.BrokerMetrics;
import contract.EventSchemas;
import history.History;
import history.HistorySettings;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.apache.camel.component.paho.PahoComponent;
import org.apache.camel.component.paho.PahoConfiguration;
import org.apache.camel.component.platform.http.PlatformHttpComponent;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpEngine;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import publish.NoDelaySocketFactory;
import publish.PipelinedMqttClient;
import subunit.UploadBodies;

/**
 * Binds what the routes use: the embedded broker (started here, so it listens before any route publishes),
 * the internal publisher account behind the {@code paho} component, health and metrics.
 */
public class FirehoseConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(FirehoseConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        // the payloads' JSON Schemas load and compile (most of a second) while the broker starts
        CompletableFuture<EventSchemas> schemas = new CompletableFuture<>();
        Thread loading = new Thread(() -> {
            try {
                schemas.complete(EventSchemas.load());
            } catch (RuntimeException | Error e) {
                schemas.completeExceptionally(e);
            }
        }, "firehose-schemas");
        loading.setDaemon(true);
        loading.start();
        PropertiesComponent properties = context.getPropertiesComponent();
        Account internal = internalAccount(properties);
        List<Account> publishers = Account.publishers(propertyNames(properties), properties::resolveProperty);
        BrokerSettings settings = BrokerSettings.from(properties::resolveProperty, publishers, internal);

        // before the routes are built: they read their shared inputs through master: when a cluster service is set
        LeaderElection.configure(context);

        // every setting read before anything starts: a wrong one fails the start with nothing left running
        HistorySettings historySettings = HistorySettings.from(properties::resolveProperty, settings.dataDir());

        EmbeddedBroker broker = new EmbeddedBroker(settings);
        // a SIGTERM before the application has started must stop the broker too; after, Camel does (routes first).
        // Asked before the broker starts: a SIGTERM right after its start, before the hook was in place, left it running
        AtomicBoolean started = new AtomicBoolean();
        context.addStartupListener(new StartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext starting, boolean alreadyStarted) {
                // called before the routes have started
            }

            @Override
            public void onCamelContextFullyStarted(CamelContext fully, boolean alreadyStarted) {
                started.set(true);
            }
        });
        broker.stopOnExitUnless(started::get);
        broker.start();
        // stopped by Camel after the routes, so in-flight events still reach the broker
        context.addService(broker, true, true);
        context.getRegistry().bind("broker", broker);
        context.getRegistry().bind("brokerHealthCheck", new BrokerHealthCheck(broker));
        if (settings.cluster().enabled()) {
            context.getRegistry().bind("clusterHealthCheck", new ClusterHealthCheck(broker, context));
        }
        History history = null;
        if (historySettings.enabled()) {
            // after the broker (it reads the broker's history subscription), stopped before it
            history = new History(historySettings, broker);
            try {
                history.start();
            } catch (RuntimeException e) {
                broker.stop(); // not yet Camel's to stop
                throw e;
            }
            context.addService(history, true, true);
            context.getRegistry().bind("history", history);
            context.getRegistry().bind("historyHealthCheck", history.healthCheck());
        }

        try {
            context.getRegistry().bind("eventSchemas", schemas.join()); // for the check (PublishRoutes) and the documents
        } catch (CompletionException e) {
            throw new IllegalStateException("the payloads' JSON Schemas could not be loaded", e.getCause());
        }

        // camel.metrics.enabled binds the registry that /observe/metrics serves
        MeterRegistry metrics = context.getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class);
        if (metrics != null) {
            new BrokerMetrics(broker).bindTo(metrics);
            if (history != null) {
                history.bindTo(metrics);
            }
            LeaderElection.bindMetrics(context, metrics);
        }

        // paho: confirms each event (the exchange completes after the PUBACK)
        PahoComponent paho = context.getComponent("paho", PahoComponent.class);
        configureInternalClient(paho.getConfiguration(), settings, internal);
        PahoConfiguration conf = paho.getConfiguration();
        ownClient(context, paho, new MqttClient(conf.getBrokerUrl(), "firehose-" + Secret.random().substring(0, 8), new MemoryPersistence()), true);
        // the uploads' HTTP server: Camel's engine cannot tell it from the management server by itself
        properties.resolveProperty("camel.server.port").map(String::strip).filter(p -> !p.isEmpty()).map(Integer::parseInt)
                .ifPresent(port -> {
                    VertxPlatformHttpEngine engine = new VertxPlatformHttpEngine() {
                        @Override
                        public int getServerPort() {
                            return port;
                        }
                    };
                    engine.setHandlers(List.of(new UploadBodies())); // runs before every route's own handling
                    context.getComponent("platform-http", PlatformHttpComponent.class).setEngine(engine);
                });
        // paho-pipelined: for stream sources, events go out in order without waiting for each PUBACK
        context.addComponent("paho-pipelined", pipelinedComponent(context, settings, internal, metrics));
    }

    private static PahoComponent pipelinedComponent(CamelContext context, BrokerSettings settings, Account internal,
                                                    MeterRegistry metrics) throws Exception {
        PahoComponent pipelined = new PahoComponent();
        configureInternalClient(pipelined.getConfiguration(), settings, internal);
        PahoConfiguration conf = pipelined.getConfiguration();
        PipelinedMqttClient client = new PipelinedMqttClient(conf.getBrokerUrl(), "firehose-pipelined-" + Secret.random().substring(0, 8),
                new MemoryPersistence(), conf.getMaxInflight());
        // unacknowledged events are sent again after a reconnect
        ownClient(context, pipelined, client, false);
        if (metrics != null) {
            // a pipelined event the broker refuses fails after its exchange completed: counted here, not by the source
            FunctionCounter.builder("firehose.publish.pipelined.failed", client, PipelinedMqttClient::failed)
                    .description("pipelined events the broker did not acknowledge").register(metrics);
        }
        return pipelined;
    }

    /**
     * Connects {@code client} for {@code component}, which then uses it as is, and closes it when the context stops.
     * (camel-paho's own client is only disconnected, and only while connected: one that was reconnecting then, e.g.
     * to a broker stopped first, went on reconnecting for ever.)
     */
    private static void ownClient(CamelContext context, PahoComponent component, MqttClient client, boolean cleanSession) throws Exception {
        PahoConfiguration conf = component.getConfiguration();
        MqttConnectOptions options = new MqttConnectOptions();
        options.setUserName(conf.getUserName());
        options.setPassword(conf.getPassword().toCharArray());
        options.setAutomaticReconnect(true);
        options.setMaxReconnectDelay(conf.getMaxReconnectDelay());
        options.setMaxInflight(conf.getMaxInflight());
        options.setSocketFactory(conf.getSocketFactory());
        options.setCleanSession(cleanSession);
        client.connect(options);
        component.setClient(client);
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() throws Exception {
                closeForGood(client, options);
            }
        }, true, true);
    }

    /**
     * Disconnects and closes {@code client} so that it never connects again. Paho refuses to close a client while one of
     * its automatic reconnect attempts is under way (and that attempt may still succeed), so no further attempt is
     * scheduled first, then the one under way, if any, is ended before the client is closed.
     */
    private static void closeForGood(MqttClient client, MqttConnectOptions options) throws MqttException, InterruptedException {
        options.setAutomaticReconnect(false); // Paho reads this same object before scheduling another attempt
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            try {
                if (client.isConnected()) {
                    client.disconnect(5000); // waits for the events still in flight
                }
                client.close(true); // a closed client's scheduled attempt fails at once
                return;
            } catch (MqttException e) {
                boolean connecting = e.getReasonCode() == MqttException.REASON_CODE_CONNECT_IN_PROGRESS;
                boolean reconnected = e.getReasonCode() == MqttException.REASON_CODE_CLIENT_CONNECTED;
                if (!(connecting || reconnected) || System.nanoTime() > deadline) {
                    throw e;
                }
                if (connecting) {
                    client.disconnectForcibly(0, 0, false); // ends the attempt: its socket closed, its CONNACK not awaited
                }
                Thread.sleep(10);
            }
        }
    }

    private static void configureInternalClient(PahoConfiguration paho, BrokerSettings settings, Account internal) {
        paho.setBrokerUrl(internalUrl(settings));
        paho.setUserName(internal.name());
        paho.setPassword(internal.password());
        paho.setCleanSession(true);
        paho.setAutomaticReconnect(true);
        paho.setMaxReconnectDelay(5000);
        paho.setMaxInflight(1000);
        if (paho.getBrokerUrl().startsWith("tcp:")) {
            paho.setSocketFactory(new NoDelaySocketFactory());
        }
    }

    /** Every key set in the properties files, the initial and override properties, or as -D system properties. */
    private static Set<String> propertyNames(PropertiesComponent properties) {
        Set<String> names = new TreeSet<>(properties.loadProperties().stringPropertyNames());
        names.addAll(System.getProperties().stringPropertyNames());
        if (properties instanceof org.apache.camel.component.properties.PropertiesComponent impl) {
            for (Properties more : new Properties[] {impl.getInitialProperties(), impl.getOverrideProperties()}) {
                if (more != null) {
                    names.addAll(more.stringPropertyNames());
                }
            }
        }
        return names;
    }

    private static Account internalAccount(PropertiesComponent properties) {
        String name = properties.resolveProperty("firehose.internal.username").map(String::trim).orElse("firehose");
        String password = Secret.resolve(properties.resolveProperty("firehose.internal.password").map(String::trim).orElse(""));
        if (password.isEmpty()) {
            password = Secret.random();
            LOG.info("Internal publisher '{}' uses a password generated for this run", name);
        }
        return new Account(name, password, List.of(TopicFilter.of("#"), TopicFilter.of("$SYS/#")));
    }

    /** Where the routes' own MQTT client connects: the plain listener, else the WebSocket one, on loopback. */
    private static String internalUrl(BrokerSettings settings) {
        String host = Optional.of(settings.host()).filter(h -> !h.equals("0.0.0.0") && !h.equals("::")).orElse("127.0.0.1");
        if (settings.mqttPort() > 0) {
            return "tcp://" + host + ":" + settings.mqttPort();
        }
        if (settings.wsPort() > 0) {
            return "ws://" + host + ":" + settings.wsPort() + "/mqtt";
        }
        throw new IllegalArgumentException("the routes publish through firehose.broker.mqtt-port or ws-port: turn one on");
    }
}
