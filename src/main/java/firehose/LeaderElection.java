package firehose;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.StartupListener;
import org.apache.camel.cluster.CamelClusterService;
import org.apache.camel.component.file.cluster.FileLockClusterService;
import org.apache.camel.component.master.MasterEndpoint;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.cluster.ClusterServiceHelper;

/**
 * Leader election for the routes that read one shared input (a Gerrit stream, an IMAP mailbox, the subunit inbox):
 * with a cluster service configured they read it through Camel's {@code master:} endpoint, so one node at a time
 * does; without one they read it directly, as a single node always has.
 *
 * <p>The cluster service comes from the {@code camel.cluster.file.*} properties (a lock file per source in a
 * directory all nodes share), which camel-main itself does not read.
 */
public final class LeaderElection {

    private LeaderElection() {
    }

    /** Adds the configured cluster service to the context, if any. */
    static void configure(CamelContext context) throws Exception {
        PropertiesComponent properties = context.getPropertiesComponent();
        if (flag(properties, "camel.cluster.kubernetes.enabled")) {
            throw new IllegalArgumentException("camel.cluster.kubernetes.enabled: leader election through Kubernetes Leases is not"
                    + " in this build; use camel.cluster.file.enabled with camel.cluster.file.root on a volume all nodes share");
        }
        if (!flag(properties, "camel.cluster.file.enabled")) {
            return;
        }
        String root = text(properties, "camel.cluster.file.root").orElseThrow(() -> new IllegalArgumentException(
                "camel.cluster.file.enabled needs camel.cluster.file.root: a directory every node shares (one lock file per source)"));
        FileLockClusterService service = new FileLockClusterService();
        service.setId(text(properties, "camel.cluster.file.id").orElse("firehose-" + ProcessHandle.current().pid()));
        service.setRoot(root);
        service.setAcquireLockDelay(seconds(properties, "camel.cluster.file.acquire-lock-delay", 1), TimeUnit.SECONDS);
        service.setAcquireLockInterval(seconds(properties, "camel.cluster.file.acquire-lock-interval", 2), TimeUnit.SECONDS);
        service.setHeartbeatTimeoutMultiplier((int) seconds(properties, "camel.cluster.file.heartbeat-timeout-multiplier", 3));
        context.addService(service, true, true);
    }

    /**
     * The endpoint a source route reads from: {@code uri} itself, or {@code master:<namespace>:<uri>} when a cluster
     * service is configured. {@code namespace} names the input (the lock file's name): the same on every node.
     */
    public static String source(CamelContext context, String namespace, String uri) {
        return ClusterServiceHelper.lookupService(context).isPresent() ? "master:" + namespace + ":" + uri : uri;
    }

    /** Whether this node leads {@code namespace} (false without a cluster service). */
    public static boolean leads(CamelContext context, String namespace) {
        Optional<CamelClusterService> service = ClusterServiceHelper.lookupService(context);
        return service.isPresent() && service.get().isLeader(namespace);
    }

    /** The routes that read through {@code master:}: route id to namespace. */
    public static Map<String, String> sources(CamelContext context) {
        Map<String, String> sources = new TreeMap<>();
        for (Route route : context.getRoutes()) {
            if (route.getEndpoint() instanceof MasterEndpoint master) {
                sources.put(route.getRouteId(), master.getNamespace());
            }
        }
        return sources;
    }

    /** {@code firehose_cluster_leader{route}}: 1 while this node leads that route's input, once the routes exist. */
    static void bindMetrics(CamelContext context, MeterRegistry metrics) throws Exception {
        context.addStartupListener(new StartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext started, boolean alreadyStarted) {
            }

            @Override
            public void onCamelContextFullyStarted(CamelContext started, boolean alreadyStarted) {
                sources(started).forEach((route, namespace) ->
                        Gauge.builder("firehose.cluster.leader", () -> leads(started, namespace) ? 1 : 0).tag("route", route)
                                .description("1 while this node reads the route's shared input, 0 while another node does")
                                .register(metrics));
            }
        });
    }

    private static boolean flag(PropertiesComponent properties, String key) {
        return text(properties, key).map(Boolean::parseBoolean).orElse(false);
    }

    private static Optional<String> text(PropertiesComponent properties, String key) {
        return properties.resolveProperty(key).map(String::strip).filter(v -> !v.isEmpty());
    }

    private static long seconds(PropertiesComponent properties, String key, long fallback) {
        String value = text(properties, key).orElse(String.valueOf(fallback));
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, not '" + value + "'");
        }
    }
}
