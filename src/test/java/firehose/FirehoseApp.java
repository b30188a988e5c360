package firehose;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import broker.EmbeddedBroker;
import contract.OffSchema;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;

/**
 * The real application, started in this JVM on free loopback ports with its data in a given directory.
 * Tests talk to it only through its listeners, as any client would.
 */
public final class FirehoseApp implements AutoCloseable {

    public static final String PUBLISHER = "ansible";
    public static final String PUBLISHER_PASSWORD = "ansible-secret-8472";

    /** Where this JVM starts handing out ports: random, so that test runs side by side rarely meet. */
    private static final AtomicInteger NEXT_PORT = new AtomicInteger(ThreadLocalRandom.current().nextInt(12_000));

    private final Map<String, String> properties;
    private Main main;
    private boolean offSchemaExpected;

    private FirehoseApp(Map<String, String> properties) {
        this.properties = properties;
    }

    /** Defaults for tests: every listener on a free port, TLS on, one publisher account {@code ansible -> ansible/#}. */
    public static FirehoseApp.Builder builder(Path dataDir) {
        return new Builder(dataDir);
    }

    public static final class Builder {
        private final Map<String, String> properties = new LinkedHashMap<>();

        private Builder(Path dataDir) {
            set("firehose.broker.host", "127.0.0.1");
            set("firehose.broker.data-dir", dataDir.toString());
            set("firehose.broker.mqtt-port", String.valueOf(freePort()));
            set("firehose.broker.ws-port", String.valueOf(freePort()));
            set("firehose.broker.tls-port", String.valueOf(freePort()));
            set("firehose.broker.wss-port", String.valueOf(freePort()));
            set("firehose.broker.keystore", TestTls.keystore().toString());
            set("firehose.broker.keystore-password", TestTls.PASSWORD);
            set("camel.management.port", String.valueOf(freePort()));
            set("camel.management.host", "127.0.0.1");
            set("camel.server.port", String.valueOf(freePort()));
            set("camel.server.host", "127.0.0.1");
            set("firehose.publisher[" + PUBLISHER + "].password", PUBLISHER_PASSWORD);
            set("firehose.publisher[" + PUBLISHER + "].topics", "ansible/#");
        }

        public Builder set(String key, String value) {
            properties.put(key, value);
            return this;
        }

        public FirehoseApp start() {
            FirehoseApp app = new FirehoseApp(new LinkedHashMap<>(properties));
            app.start();
            return app;
        }
    }

    /** Starts (again, after {@link #close()}) with the same ports and data directory. */
    public FirehoseApp start() {
        main = new Main(); // FirehoseConfiguration from application.properties, as for the jar
        properties.forEach(main::addOverrideProperty);
        main.start();
        return this;
    }

    /**
     * Stops the application; fails if a route published an event off its JSON Schema meanwhile (every event the routes
     * publish in the tests is checked against its schema, as in production, where it is only counted).
     */
    @Override
    public void close() {
        if (main != null) {
            OffSchema offSchema = main.getCamelContext() == null ? null
                    : main.getCamelContext().getRegistry().lookupByNameAndType("offSchema", OffSchema.class);
            main.stop();
            main = null;
            if (offSchema != null && offSchema.count() > 0 && !offSchemaExpected) {
                throw new AssertionError((long) offSchema.count() + " event(s) published off their schema; the last: " + offSchema.last());
            }
        }
    }

    /** For a test that publishes events off their schema on purpose: {@link #close()} does not fail for them. */
    public FirehoseApp offSchemaExpected() {
        offSchemaExpected = true;
        return this;
    }

    public CamelContext context() {
        return main.getCamelContext();
    }

    public EmbeddedBroker broker() {
        return context().getRegistry().lookupByNameAndType("broker", EmbeddedBroker.class);
    }

    public String property(String key) {
        return properties.get(key);
    }

    public int port(String listener) {
        return Integer.parseInt(properties.get("firehose.broker." + listener + "-port"));
    }

    public String tcpUrl() {
        return "tcp://127.0.0.1:" + port("mqtt");
    }

    public String wsUrl() {
        return "ws://127.0.0.1:" + port("ws") + "/mqtt";
    }

    public String sslUrl() {
        return "ssl://localhost:" + port("tls");
    }

    public String wssUrl() {
        return "wss://localhost:" + port("wss") + "/mqtt";
    }

    public String managementUrl() {
        return "http://127.0.0.1:" + properties.get("camel.management.port");
    }

    /** GET on the management port (health, metrics). */
    public HttpResponse<String> http(String path) throws IOException, InterruptedException {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                HttpRequest.newBuilder(URI.create(managementUrl() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The HTTP server's base URL (subunit uploads). */
    public String httpUrl() {
        return "http://127.0.0.1:" + properties.get("camel.server.port");
    }

    /**
     * A port free now, below Linux's ephemeral range (32768 and up): a port from that range can be taken by any
     * outgoing connection before the broker binds it. Ports handed out are not handed out again in this JVM.
     */
    public static int freePort() {
        for (int attempt = 0; attempt < 1_000; attempt++) {
            int port = 20_000 + NEXT_PORT.getAndIncrement() % 12_000;
            try (ServerSocket socket = new ServerSocket()) {
                socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                return port;
            } catch (IOException taken) {
                // in use: try the next one
            }
        }
        throw new IllegalStateException("no free port between 20000 and 32000");
    }
}
