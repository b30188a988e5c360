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
import org.apache.camel.component.kubernetes.cluster.KubernetesClusterService;
import org.apache.camel.component.kubernetes.cluster.LeaseResourceType;
import org.apache.camel.component.master.MasterEndpoint;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.cluster.ClusterServiceHelper;

/**
 * Leader election for the routes that read one shared input (a Gerrit stream, an IMAP mailbox, the subunit inbox):
 * with a cluster service configured they read it through Camel's {@code master:} endpoint, so one node at a time
 * does; without one they read it directly, as a single node always has.
 *
 * <p>The cluster service comes from the {@code camel.cluster.file.*} properties (a lock file per source in a
 * directory all nodes share) or the {@code camel.cluster.kubernetes.*} ones (a Kubernetes Lease per source), which
 * camel-main itself does not read.
 */
public final class LeaderElection {

    private LeaderElection() {
    }

    /** Adds the configured cluster service to the context, if any. */
    static void configure(CamelContext context) throws Exception {
        PropertiesComponent properties = context.getPropertiesComponent();
        if (flag(properties, "camel.cluster.kubernetes.enabled")) {
            if (flag(properties, "camel.cluster.file.enabled")) {
                throw new IllegalArgumentException("camel.cluster.kubernetes.enabled and camel.cluster.file.enabled are both set: choose one");
            }
            context.addService(kubernetes(properties), true, true);
            return;
        }
        if (!flag(properties, "camel.cluster.file.enabled")) {
            return;
        }
        String root = text(properties, "camel.cluster.file.root").orElseThrow(() -> new IllegalArgumentException(
                "camel.cluster.file.enabled needs camel.cluster.file.root: a directory every node shares (one lock file per source)"));
        FileLockClusterService service = new FileLockClusterService();
        service.setId(text(properties, "camel.cluster.file.id").orElse("firehose-" + ProcessHandle.current().pid()));
        service.setRoot(root);
        service.setAcquireLockDelay(number(properties, "camel.cluster.file.acquire-lock-delay", 1), TimeUnit.SECONDS);
        service.setAcquireLockInterval(number(properties, "camel.cluster.file.acquire-lock-interval", 2), TimeUnit.SECONDS);
        service.setHeartbeatTimeoutMultiplier((int) number(properties, "camel.cluster.file.heartbeat-timeout-multiplier", 3));
        context.addService(service, true, true);
    }

    /** Leases in the pod's namespace, one per source, named {@code <resource-name>-<source>}; the pod's RBAC must allow them. */
    private static KubernetesClusterService kubernetes(PropertiesComponent properties) {
        String prefix = "camel.cluster.kubernetes.";
        KubernetesClusterService service = new KubernetesClusterService();
        service.setLeaseResourceType(LeaseResourceType.Lease);
        text(properties, prefix + "master-url").ifPresent(service::setMasterUrl);
        text(properties, prefix + "namespace").ifPresent(service::setNamespace);
        text(properties, prefix + "pod-name").ifPresent(service::setPodName);
        service.setKubernetesResourceName(text(properties, prefix + "kubernetes-resource-name").orElse("firehose-leader"));
        Map<String, String> labels = new TreeMap<>();
        for (String pair : text(properties, prefix + "cluster-labels").orElse("app.kubernetes.io/name=firehose").split(",")) {
            String[] kv = pair.strip().split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException(prefix + "cluster-labels: '" + pair + "' is not name=value");
            }
            labels.put(kv[0].strip(), kv[1].strip());
        }
        service.setClusterLabels(labels);
        // a leader gone is replaced once its lease runs out: within about 10 s
        service.setLeaseDurationMillis(number(properties, prefix + "lease-duration-millis", 10_000));
        service.setRenewDeadlineMillis(number(properties, prefix + "renew-deadline-millis", 7_000));
        service.setRetryPeriodMillis(number(properties, prefix + "retry-period-millis", 2_000));
        return service;
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

    private static long number(PropertiesComponent properties, String key, long fallback) {
        String value = text(properties, key).orElse(String.valueOf(fallback));
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a whole number, not '" + value + "'");
        }
    }
}
