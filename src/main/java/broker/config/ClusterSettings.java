package broker.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The {@code firehose.cluster.*} properties: the node-to-node (core protocol) port, the other nodes' {@code host:port},
 * the shared password of node-to-node links, and the name the other nodes reach this one by. Port 0: standalone.
 */
public record ClusterSettings(int port, List<Member> members, String password, String host) {

    /** Another node's cluster port. */
    public record Member(String host, int port) {
        @Override
        public String toString() {
            return host + ":" + port;
        }
    }

    public static final ClusterSettings STANDALONE = new ClusterSettings(0, List.of(), "", "");

    public boolean enabled() {
        return port > 0;
    }

    @Override
    public String toString() {
        return enabled() ? "cluster port " + port + " as " + host + ", members " + members : "standalone";
    }

    static ClusterSettings from(Function<String, Optional<String>> property) {
        int port = BrokerSettings.port(property, "firehose.cluster.port", 0);
        String membersText = BrokerSettings.text(property, "firehose.cluster.members", "");
        if (port <= 0) {
            return STANDALONE; // members alone (e.g. a shared properties file with the port turned off) do not make a cluster
        }
        List<Member> members = Arrays.stream(membersText.split(",")).map(String::strip).filter(m -> !m.isEmpty())
                .map(ClusterSettings::member).toList();
        String password = Secret.resolve(BrokerSettings.text(property, "firehose.cluster.password", ""));
        if (password.isEmpty()) {
            throw new IllegalArgumentException("firehose.cluster.password must be set when firehose.cluster.port is: the nodes"
                    + " of a cluster share it (plain text, env:VARIABLE or file:/path)");
        }
        String host = BrokerSettings.text(property, "firehose.cluster.host", "");
        if (host.isEmpty()) {
            host = defaultHost(BrokerSettings.text(property, "firehose.broker.host", "0.0.0.0"));
        }
        // a list shared by every node (e.g. one ConfigMap for a StatefulSet) names this node too: leave it out
        String self = host;
        members = members.stream().filter(m -> !(m.host().equalsIgnoreCase(self) && m.port() == port)).toList();
        return new ClusterSettings(port, members, password, host);
    }

    private static Member member(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("firehose.cluster.members: '" + text + "' is not host:port");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1); // [::1]:61616
        }
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            if (port < 1 || port > 65_535) {
                throw new NumberFormatException();
            }
            return new Member(host, port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("firehose.cluster.members: '" + text + "' has no valid port");
        }
    }

    /** The broker's own address when it listens on one, else this machine's address. */
    private static String defaultHost(String brokerHost) {
        if (!brokerHost.equals("0.0.0.0") && !brokerHost.equals("::") && !brokerHost.isEmpty()) {
            return brokerHost;
        }
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("cannot tell this machine's address: set firehose.cluster.host to the name or"
                    + " address the other nodes reach this one by", e);
        }
    }
}
