package contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import firehose.Await;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import publish.Topic;

/**
 * The check on the way out, through the routes every source publishes by: a subunit upload and the $SYS figures are
 * checked and match (Gerrit's and Launchpad's are in GerritIT and LaunchpadIT), and an event off its schema sent to
 * either publishing route is published unchanged and counted under its source and type.
 */
class OffSchemaIT {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path data;

    @Test
    void events_of_every_route_are_checked_and_one_off_its_schema_is_published_unchanged_and_counted() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.history.enabled", "false")
                .set("firehose.broker.sys-interval", "1").start().offSchemaExpected();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gearman-subunit/#")) {
            HttpResponse<String> upload = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(app.httpUrl()
                            + "/subunit?build_uuid=0f1e2d3c&project=openstack/nova&build_change=123456"))
                    .header("Content-Type", "application/octet-stream")
                    .POST(HttpRequest.BodyPublishers.ofFile(Path.of("src/test/resources/subunit/successful.subunit"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, upload.statusCode(), upload.body());
            assertTrue(subscriber.next(WAIT).topic().endsWith("/openstack/nova/123456"));

            ProducerTemplate routes = app.context().createProducerTemplate();
            String offResult = "{\"status\":\"maybe\"}";
            routes.sendBodyAndHeaders("direct:publish", offResult, Map.of(Topic.HEADER, "gearman-subunit/w/p/1", OffSchema.SOURCE, "subunit"));
            assertEquals(offResult, subscriber.next(WAIT).payload(), "published unchanged");
            String offGerrit = "{\"type\":42}";
            routes.sendBodyAndHeaders("direct:publish-pipelined", offGerrit, Map.of(Topic.HEADER, "gearman-subunit/w/p/2", OffSchema.SOURCE, "gerrit"));
            assertEquals(offGerrit, subscriber.next(WAIT).payload(), "published unchanged");

            Await.until(WAIT, () -> metrics(app).contains("firehose_events_checked_total{source=\"sys\"}"), () -> "no $SYS figure checked");
            String metrics = metrics(app);
            assertTrue(metrics.contains("firehose_events_checked_total{source=\"subunit\"} 2.0"), metrics);
            assertTrue(metrics.contains("firehose_events_checked_total{source=\"gerrit\"} 1.0"), metrics);
            assertTrue(metrics.contains("firehose_events_off_schema_total{source=\"subunit\",type=\"result\"} 1.0"), metrics);
            assertTrue(metrics.contains("firehose_events_off_schema_total{source=\"gerrit\",type=\"other\"} 1.0"), metrics);
            List<String> sys = metrics.lines().filter(line -> line.startsWith("firehose_events_off_schema_total{source=\"sys\"")).toList();
            assertTrue(sys.size() >= 5, "each $SYS kind, from 0: " + sys);
            assertTrue(sys.stream().allMatch(line -> line.endsWith(" 0.0")), "the broker's $SYS figures match their schemas: " + sys);
        }
    }

    private static String metrics(FirehoseApp app) {
        try {
            return app.http("/observe/metrics").body();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
