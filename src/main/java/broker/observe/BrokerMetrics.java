package broker.observe;

import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.apache.activemq.artemis.core.server.ActiveMQServer;

/** The broker's figures on {@code /observe/metrics}, the same ones {@code $SYS/broker/...} shows. */
public final class BrokerMetrics implements MeterBinder {

    private final BrokerView broker;

    public BrokerMetrics(BrokerView broker) {
        this.broker = broker;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        BrokerStatistics stats = broker.statistics();
        Gauge.builder("firehose.broker.connections", broker, b -> connections(b.server()))
                .description("MQTT connections open now").register(registry);
        FunctionCounter.builder("firehose.broker.connections.opened", broker, b -> b.server() == null ? 0 : b.server().getTotalConnectionCount())
                .description("MQTT connections opened since start").register(registry);
        for (String listener : broker.clientListeners()) {
            for (String reason : broker.refusalReasons()) {
                FunctionCounter.builder("firehose.broker.connections.refused", broker, b -> b.refused(listener, reason))
                        .tags("listener", listener, "reason", reason)
                        .description("Connections the broker closed: over max-connections, a malformed string, a client id it cannot hold, "
                                + "bytes that are no MQTT packet, no first packet within the handshake timeout")
                        .register(registry);
            }
        }
        for (String reason : broker.subscriptionRefusalReasons()) {
            FunctionCounter.builder("firehose.broker.subscriptions.refused", broker, b -> b.subscriptionsRefused(reason))
                    .tags("reason", reason)
                    .description("Subscriptions refused in their SUBACK: over max-subscriptions-per-client, or over max-subscriptions")
                    .register(registry);
        }
        for (String reason : broker.publishRefusalReasons()) {
            FunctionCounter.builder("firehose.broker.publishes.refused", broker, b -> b.publishesRefused(reason))
                    .tags("reason", reason)
                    .description("PUBLISH packets refused, acknowledged and delivered to no one: from an anonymous client, "
                            + "outside the account's topic filters, to a $ topic")
                    .register(registry);
        }
        FunctionCounter.builder("firehose.broker.wills.dropped", broker, BrokerView::willsDropped)
                .description("Wills taken out of CONNECTs: their users may not publish to their topics (anonymous clients to none)")
                .register(registry);
        FunctionCounter.builder("firehose.broker.subscriptions.repaired", broker, BrokerView::subscriptionsRepaired)
                .description("Wildcard subscriptions put back into a topic's list of subscriptions they had been left out of "
                        + "(added while the topic's first message was routed)")
                .register(registry);
        FunctionCounter.builder("firehose.broker.messages.received", stats, BrokerStatistics::messagesReceived)
                .description("PUBLISH packets received from clients").register(registry);
        FunctionCounter.builder("firehose.broker.messages.sent", stats, BrokerStatistics::messagesSent)
                .description("Messages delivered to subscribers").register(registry);
        FunctionCounter.builder("firehose.broker.messages.dropped", stats, BrokerStatistics::messagesDropped)
                .description("Oldest messages dropped from a full subscriber backlog").register(registry);
        Gauge.builder("firehose.broker.subscriber.backlog", broker, BrokerView::subscriberBacklog)
                .description("Undelivered messages each subscription keeps at most now: subscriber-backlog, or its share of "
                        + "max-queued-messages when more subscriptions share it")
                .register(registry);
        Gauge.builder("firehose.cluster.remote.subscriptions", broker, BrokerView::remoteSubscriptions)
                .description("Subscriptions on other nodes this node forwards matching events for").register(registry);
        Gauge.builder("firehose.cluster.nodes", broker, b -> 1 + b.linkedNodes())
                .description("Nodes of the cluster this node is linked with, itself included (1: standalone or alone)").register(registry);
        pauses(registry, stats, "caught-up", BrokerStatistics::publisherPausesCaughtUp);
        pauses(registry, stats, "limit", BrokerStatistics::publisherPausesAtLimit);
    }

    private static void pauses(MeterRegistry registry, BrokerStatistics stats, String ended, ToDoubleFunction<BrokerStatistics> count) {
        FunctionCounter.builder("firehose.broker.publisher.pauses", stats, count).tag("ended", ended)
                .description("Times a publisher was held back, by how the pause ended: the broker caught up, or the 1 s limit")
                .register(registry);
    }

    private static double connections(ActiveMQServer server) {
        return server == null ? 0 : server.getConnectionCount();
    }
}
