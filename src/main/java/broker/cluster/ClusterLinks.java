package broker.cluster;

import broker.config.ClusterSettings;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.activemq.artemis.api.core.TransportConfiguration;
import org.apache.activemq.artemis.core.config.ClusterConnectionConfiguration;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyAcceptorFactory;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyConnectorFactory;
import org.apache.activemq.artemis.core.remoting.impl.netty.TransportConstants;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.cluster.ClusterConnection;
import org.apache.activemq.artemis.core.server.cluster.impl.MessageLoadBalancingType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node-to-node links: Artemis' own cluster connection over its core protocol. Each node announces itself to the
 * configured members, learns the others from them, and opens one bridge to each; a message goes over a bridge once,
 * with the ids of the remote subscriptions it matched, and is delivered there to those only. No message is relayed
 * twice (max hops 1: every node links to every other).
 *
 * <p>What is not shared: Artemis' MQTT bookkeeping ({@code $sys.mqtt.*}: session state and retained messages stay on
 * the node they were made on) and the {@code $SYS/...} tree (each node publishes its own figures).
 */
public final class ClusterLinks {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterLinks.class);

    static final String NAME = "firehose";
    /** The user name node-to-node links authenticate with; the password is {@code firehose.cluster.password}. */
    static final String USER = "firehose-cluster-node";
    public static final String ACCEPTOR = "cluster";
    /** Addresses whose subscriptions are not announced to the other nodes, so nothing of theirs crosses a link. */
    static final String NOT_SHARED = "!$sys.mqtt.,!$SYS.";

    private ClusterLinks() {
    }

    public static void configure(Configuration config, ClusterSettings cluster, String bindHost, int maxPacketSize) {
        if (loopback(cluster.host()) && cluster.members().stream().anyMatch(m -> !loopback(m.host()))) {
            LOG.warn("This node tells the others to reach it at {}, a loopback address they cannot reach from another machine:"
                    + " set firehose.cluster.host to this machine's name or address", cluster.host());
        }
        config.setClusterUser(USER);
        config.setClusterPassword(cluster.password());

        Map<String, Object> acceptor = new HashMap<>();
        acceptor.put(TransportConstants.HOST_PROP_NAME, bindHost);
        acceptor.put(TransportConstants.PORT_PROP_NAME, cluster.port());
        acceptor.put(TransportConstants.PROTOCOLS_PROP_NAME, "CORE");
        config.addAcceptorConfiguration(new TransportConfiguration(NettyAcceptorFactory.class.getName(), acceptor, ACCEPTOR));

        config.addConnectorConfiguration("self", connector(cluster.host(), cluster.port()));
        List<String> members = new ArrayList<>();
        for (ClusterSettings.Member member : cluster.members()) {
            String name = "member-" + members.size();
            config.addConnectorConfiguration(name, connector(member.host(), member.port()));
            members.add(name);
        }
        config.addClusterConfiguration(new ClusterConnectionConfiguration()
                .setName(NAME)
                .setAddress(NOT_SHARED)
                .setConnectorName("self")
                .setStaticConnectors(members)
                // each MQTT subscription is its own queue: every one that matches gets a copy; only when one client id
                // has a subscription on two nodes (it moved) does the copy go to the one with a consumer
                .setMessageLoadBalancingType(MessageLoadBalancingType.ON_DEMAND)
                .setMaxHops(1)
                .setDuplicateDetection(true)
                // a node that is down is tried again every few seconds, for ever: it joins again when it is back
                .setRetryInterval(500)
                .setRetryIntervalMultiplier(2)
                .setMaxRetryInterval(5_000)
                .setInitialConnectAttempts(-1)
                .setReconnectAttempts(-1)
                // a node gone without closing its links (a machine lost) is noticed within 15 s
                .setClientFailureCheckPeriod(5_000)
                .setConnectionTTL(15_000)
                // an event up to the largest MQTT packet crosses as one message, not as a large message in files
                .setMinLargeMessageSize(Math.max(100 * 1024, maxPacketSize + 65_536)));
    }

    private static boolean loopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false; // not resolvable here now: Artemis retries, and says so
        }
    }

    private static TransportConfiguration connector(String host, int port) {
        Map<String, Object> params = new HashMap<>();
        params.put(TransportConstants.HOST_PROP_NAME, host);
        params.put(TransportConstants.PORT_PROP_NAME, port);
        params.put(TransportConstants.TCP_NODELAY_PROPNAME, true);
        return new TransportConfiguration(NettyConnectorFactory.class.getName(), params);
    }

    /** The nodes this one has a link to now (not counting itself): node id to address. */
    public static Map<String, String> linkedNodes(ActiveMQServer server) {
        ClusterConnection connection = server == null || server.getClusterManager() == null ? null
                : server.getClusterManager().getClusterConnection(NAME);
        return connection == null ? Map.of() : Map.copyOf(connection.getNodes());
    }
}
