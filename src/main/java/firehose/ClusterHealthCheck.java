package firehose;

import java.util.Map;

import broker.EmbeddedBroker;
import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * The cluster as this node sees it: the nodes it is linked with out of those configured, and which sources it leads.
 * DOWN only when the other nodes refused this one's cluster password: its subscribers would miss every event that
 * enters elsewhere. A node alone (the others not started yet, or gone) stays UP: it still serves what it can.
 */
final class ClusterHealthCheck extends AbstractHealthCheck {

    private final EmbeddedBroker broker;
    private final CamelContext context;

    ClusterHealthCheck(EmbeddedBroker broker, CamelContext context) {
        super("firehose", "cluster");
        this.broker = broker;
        this.context = context;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("nodes.linked", broker.linkedNodes());
        builder.detail("nodes.configured", broker.cluster().members().size());
        LeaderElection.sources(context).forEach((route, namespace) ->
                builder.detail("leader." + route, LeaderElection.leads(context, namespace) ? "this node" : "another node"));
        if (broker.clusterRefused()) {
            builder.message("the other nodes refused this node's firehose.cluster.password").down();
        } else {
            builder.up();
        }
    }
}
