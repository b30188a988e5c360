package broker.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Every broker setting, read once from the {@code firehose.broker.*} properties.
 * A port of 0 (or an empty value) turns that listener off.
 */
public record BrokerSettings(
        String host,
        int mqttPort,
        int wsPort,
        int tlsPort,
        int wssPort,
        String keystore,
        String keystorePassword,
        Path dataDir,
        int maxConnections,
        int maxSubscriptions,
        int maxSubscriptionsPerClient,
        int maxPacketSize,
        long subscriberBacklog,
        long maxQueuedMessages,
        int sessionExpirySeconds,
        boolean persistence,
        boolean journalSync,
        int backPressureMark,
        int threads,
        int ioThreads,
        boolean eventLoopDelivery,
        boolean eventLoopConnect,
        int serverKeepAliveSeconds,
        int handshakeTimeoutSeconds,
        List<Account> publishers,
        Account internal,
        ClusterSettings cluster) {

    public boolean tlsConfigured() {
        return keystore != null && !keystore.isBlank();
    }

    /** Reads the settings through a property lookup, e.g. Camel's properties component. */
    public static BrokerSettings from(Function<String, Optional<String>> property, List<Account> publishers, Account internal) {
        return new BrokerSettings(
                text(property, "firehose.broker.host", "0.0.0.0"),
                port(property, "firehose.broker.mqtt-port", 1883),
                port(property, "firehose.broker.ws-port", 9001),
                port(property, "firehose.broker.tls-port", 8883),
                port(property, "firehose.broker.wss-port", 9443),
                text(property, "firehose.broker.keystore", ""),
                Secret.resolve(text(property, "firehose.broker.keystore-password", "")),
                Path.of(text(property, "firehose.broker.data-dir", "data")),
                (int) number(property, "firehose.broker.max-connections", 10_000),
                atLeast(0, "firehose.broker.max-subscriptions", (int) number(property, "firehose.broker.max-subscriptions", 20_000)),
                atLeast(0, "firehose.broker.max-subscriptions-per-client",
                        (int) number(property, "firehose.broker.max-subscriptions-per-client", 100)),
                (int) number(property, "firehose.broker.max-packet-size", 4 << 20),
                number(property, "firehose.broker.subscriber-backlog", 10_000),
                atLeast(1, "firehose.broker.max-queued-messages", (int) number(property, "firehose.broker.max-queued-messages", 2_000_000)),
                (int) number(property, "firehose.broker.session-expiry", 86_400),
                Boolean.parseBoolean(text(property, "firehose.broker.persistence", "true")),
                Boolean.parseBoolean(text(property, "firehose.broker.journal-sync", "false")),
                (int) number(property, "firehose.broker.publisher-back-pressure", 100),
                (int) number(property, "firehose.broker.threads", 0),
                (int) number(property, "firehose.broker.io-threads", 0),
                Boolean.parseBoolean(text(property, "firehose.broker.event-loop-delivery", "true")),
                Boolean.parseBoolean(text(property, "firehose.broker.event-loop-connect", "true")),
                (int) number(property, "firehose.broker.server-keep-alive", 60),
                atLeast(1, "firehose.broker.handshake-timeout", (int) number(property, "firehose.broker.handshake-timeout", 10)),
                publishers,
                internal,
                ClusterSettings.from(property));
    }

    static String text(Function<String, Optional<String>> property, String key, String fallback) {
        return property.apply(key).map(String::trim).orElse(fallback);
    }

    static int port(Function<String, Optional<String>> property, String key, int fallback) {
        String value = text(property, key, String.valueOf(fallback));
        return value.isEmpty() ? 0 : parse(key, value);
    }

    private static long number(Function<String, Optional<String>> property, String key, long fallback) {
        String value = text(property, key, "");
        return value.isEmpty() ? fallback : parse(key, value);
    }

    private static int atLeast(int least, String key, int value) {
        if (value < least) {
            throw new IllegalArgumentException(key + " must be at least " + least + ", not " + value);
        }
        return value;
    }

    private static int parse(String key, String value) {
        try {
            return Integer.parseInt(value.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, not '" + value + "'");
        }
    }
}
