package broker.cluster;

import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import broker.config.ClusterSettings;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.cluster.RemoteQueueBinding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Says in the log, each second, which other nodes this one is linked with, and once when another node refused this
 * one's cluster password: Artemis then stops the node's cluster links for good without a word in Firehose's terms.
 */
public final class ClusterWatch {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterWatch.class);

    private final ClusterSettings settings;
    private final Supplier<ActiveMQServer> server;
    private volatile boolean refused;
    private ScheduledFuture<?> task;
    /** The other nodes linked at the last look (the watch's thread only). */
    private Map<String, String> linked = Map.of();

    /** {@code server}: the running Artemis server, or null. */
    public ClusterWatch(ClusterSettings settings, Supplier<ActiveMQServer> server) {
        this.settings = settings;
        this.server = server;
    }

    /** Starts watching a clustered server; a standalone one is not watched. */
    public void start(ActiveMQServer server) {
        if (settings.enabled()) {
            task = server.getScheduledPool().scheduleWithFixedDelay(this::look, 1, 1, TimeUnit.SECONDS);
        }
    }

    public void stop() {
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }

    private void look() {
        ActiveMQServer current = server.get();
        Map<String, String> now = ClusterLinks.linkedNodes(current);
        now.forEach((node, address) -> {
            if (!linked.containsKey(node)) {
                LOG.info("Cluster: linked with the node at {} ({} of {} other nodes)", address, now.size(), settings.members().size());
            }
        });
        linked.forEach((node, address) -> {
            if (!now.containsKey(node)) {
                LOG.warn("Cluster: lost the link with the node at {} ({} of {} other nodes linked); retrying", address, now.size(),
                        settings.members().size());
            }
        });
        linked = now;
        if (current != null && current.isActive() && !current.getClusterManager().isStarted() && !refused) {
            refused = true;
            LOG.error("This node is not in the cluster: another node refused its firehose.cluster.password. It serves its own"
                    + " clients only, until it is restarted with the password the other nodes have");
        }
    }

    /** True when another node refused this one's cluster password (its links stay down until a restart). */
    public boolean refused() {
        return refused;
    }

    /** The other nodes this one has a link to now (0 when standalone). */
    public int linkedNodes() {
        return ClusterLinks.linkedNodes(server.get()).size();
    }

    /** Subscriptions of other nodes this one knows of (Artemis' remote queue bindings); 0 when standalone. */
    public long remoteSubscriptions() {
        ActiveMQServer current = server.get();
        if (current == null || !settings.enabled()) {
            return 0;
        }
        long count = 0;
        for (Binding binding : (Iterable<Binding>) current.getPostOffice().getAllBindings()::iterator) {
            if (binding instanceof RemoteQueueBinding) {
                count++;
            }
        }
        return count;
    }
}
