package broker.observe;

import java.util.List;

import org.apache.activemq.artemis.core.server.ActiveMQServer;

/** What the broker shows of itself to its metrics and health check. */
public interface BrokerView {

    /** The running Artemis server, or null when the broker is not running. */
    ActiveMQServer server();

    /** True when the broker is active and every listener accepts connections. */
    boolean accepting();

    BrokerStatistics statistics();

    /** The client listeners open, by name ({@code mqtt}, {@code mqtt-ws}, ...). */
    List<String> clientListeners();

    /** The reasons a connection may be closed on purpose, as counted by {@link #refused}. */
    List<String> refusalReasons();

    /** Connections the broker closed on {@code listener} for {@code reason} since start. */
    long refused(String listener, String reason);

    /** The reasons a subscription may be refused, as counted by {@link #subscriptionsRefused}. */
    List<String> subscriptionRefusalReasons();

    /** Subscriptions refused for {@code reason} since start. */
    long subscriptionsRefused(String reason);

    /** Wills taken out of CONNECTs because their users may not publish to their topics, since start. */
    long willsDropped();

    /** The reasons a PUBLISH may be refused, as counted by {@link #publishesRefused}. */
    List<String> publishRefusalReasons();

    /** PUBLISHes refused (answered, delivered to no one) for {@code reason} since start. */
    long publishesRefused(String reason);

    /**
     * Wildcard subscriptions put back into a topic's list of subscriptions that had missed them (an Artemis race the
     * broker repairs), since start.
     */
    long subscriptionsRepaired();

    /** Undelivered messages each subscription keeps at most now. */
    long subscriberBacklog();

    /** Subscriptions of other nodes this one knows of; 0 when standalone. */
    long remoteSubscriptions();

    /** The other nodes this one has a link to now (0 when standalone). */
    int linkedNodes();
}
