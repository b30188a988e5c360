package broker;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.apache.activemq.artemis.core.server.ActiveMQServer;

/** The broker's figures on {@code /observe/metrics}, the same ones {@code $SYS/broker/...} shows. */
public final class BrokerMetrics implements MeterBinder {

    private final EmbeddedBroker broker;

    public BrokerMetrics(EmbeddedBroker broker) {
        this.broker = broker;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        BrokerStatistics stats = broker.statistics();
        Gauge.builder("firehose.broker.connections", broker, b -> connections(b.server()))
                .description("MQTT connections open now").register(registry);
        FunctionCounter.builder("firehose.broker.connections.opened", broker, b -> b.server() == null ? 0 : b.server().getTotalConnectionCount())
                .description("MQTT connections opened since start").register(registry);
        FunctionCounter.builder("firehose.broker.messages.received", stats, BrokerStatistics::messagesReceived)
                .description("PUBLISH packets received from clients").register(registry);
        FunctionCounter.builder("firehose.broker.messages.sent", stats, BrokerStatistics::messagesSent)
                .description("Messages delivered to subscribers").register(registry);
        FunctionCounter.builder("firehose.broker.messages.dropped", stats, BrokerStatistics::messagesDropped)
                .description("Oldest messages dropped from a full subscriber backlog").register(registry);
        FunctionCounter.builder("firehose.broker.publisher.pauses", stats, BrokerStatistics::publisherPausesCaughtUp)
                .tag("ended", "caught-up").description("Times a publisher was not read from while the broker caught up")
                .register(registry);
        FunctionCounter.builder("firehose.broker.publisher.pauses", stats, BrokerStatistics::publisherPausesAtLimit)
                .tag("ended", "limit").description("Times a publisher was not read from while the broker caught up")
                .register(registry);
    }

    private static double connections(ActiveMQServer server) {
        return server == null ? 0 : server.getConnectionCount();
    }
}
