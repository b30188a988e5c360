package cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;

import firehose.FirehoseApp;
import firehose.LeaderElection;
import org.apache.camel.cluster.CamelClusterService;
import org.apache.camel.component.kubernetes.cluster.KubernetesClusterService;
import org.apache.camel.support.cluster.ClusterServiceHelper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which cluster service the properties choose, and that the sources then read through it. */
class LeaderElectionIT {

    @TempDir
    Path dir;

    @Test
    void without_a_cluster_service_the_sources_read_directly() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(dir).set("firehose.broker.sys-interval", "0").start()) {
            assertTrue(ClusterServiceHelper.lookupService(app.context()).isEmpty());
            assertEquals(Map.of(), LeaderElection.sources(app.context()));
        }
    }

    @Test
    void with_kubernetes_leases_the_sources_wait_for_a_lease_they_cannot_get_without_the_api() throws Exception {
        int closed;
        try (ServerSocket free = new ServerSocket(0)) {
            closed = free.getLocalPort(); // nothing listens there once closed: an API server that is not there
        }
        try (FirehoseApp app = FirehoseApp.builder(dir).set("firehose.broker.sys-interval", "0")
                .set("camel.cluster.kubernetes.enabled", "true")
                .set("camel.cluster.kubernetes.master-url", "http://127.0.0.1:" + closed)
                .set("camel.cluster.kubernetes.namespace", "firehose-test")
                .set("camel.cluster.kubernetes.pod-name", "firehose-0").start()) {
            CamelClusterService service = ClusterServiceHelper.lookupService(app.context()).orElseThrow();
            KubernetesClusterService kubernetes = service.unwrap(KubernetesClusterService.class);
            assertEquals("firehose-leader", kubernetes.getKubernetesResourceName());
            assertEquals(Map.of("app.kubernetes.io/name", "firehose"), kubernetes.getClusterLabels());
            assertEquals(Map.of("subunit-inbox", "subunit-inbox"), LeaderElection.sources(app.context()));
            assertFalse(LeaderElection.leads(app.context(), "subunit-inbox"), "no lease without the API server");
        }
    }

    @Test
    void two_cluster_services_at_once_are_refused_with_a_clear_message() {
        Exception e = assertThrows(Exception.class, () -> FirehoseApp.builder(dir)
                .set("camel.cluster.kubernetes.enabled", "true").set("camel.cluster.file.enabled", "true")
                .set("camel.cluster.file.root", dir.resolve("leader").toString()).start());
        Throwable cause = e;
        while (cause.getCause() != null && !String.valueOf(cause.getMessage()).contains("choose one")) {
            cause = cause.getCause();
        }
        assertTrue(String.valueOf(cause.getMessage()).contains("choose one"), String.valueOf(e));
    }
}
