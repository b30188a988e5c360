package publish;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;

import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** The publishing step every source shares: direct:publish with a topic header, QoS 1, the internal account. */
class PublishRouteIT {

    @TempDir
    Path data;

    @Test
    void event_sent_to_direct_publish_reaches_subscribers_at_qos_1_with_encoded_levels() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#")) {
            ProducerTemplate producer = app.context().createProducerTemplate();
            String json = "{\"type\":\"comment-added\",\"project\":\"openstack/nova\"}";
            producer.sendBodyAndHeader("direct:publish", json, Topic.HEADER,
                    Topic.of("gerrit", "openstack/nova", "comment-added"));
            producer.sendBodyAndHeader("direct:publish", "{}", Topic.HEADER, Topic.of("gerrit", "c++#1", "x"));

            Subscriber.Received first = subscriber.next(Duration.ofSeconds(10));
            assertEquals("gerrit/openstack/nova/comment-added", first.topic());
            assertEquals(json, first.payload());
            assertEquals(1, first.qos());
            assertEquals("gerrit/c%2B%2B%231/x", subscriber.next(Duration.ofSeconds(10)).topic());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"direct:publish", "direct:publish-pipelined"})
    void events_keep_their_order_across_new_topics(String path) throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#");
             Subscriber other = Subscriber.on(app.wsUrl(), "gerrit/#")) {
            ProducerTemplate producer = app.context().createProducerTemplate();
            int events = 600;
            for (int i = 0; i < events; i++) {
                // two events per topic, the first creating it: storing each new topic's address made Artemis deliver
                // such pairs swapped now and then (see broker.artemis.UnstoredTopicAddresses)
                producer.sendBodyAndHeader(path, String.valueOf(i), Topic.HEADER, Topic.of("gerrit", "project" + i / 2, "t"));
            }
            for (Subscriber s : new Subscriber[] {subscriber, other}) {
                for (int i = 0; i < events; i++) {
                    assertEquals(String.valueOf(i), s.next(Duration.ofSeconds(10)).payload(), "event " + i);
                }
            }
        }
    }
}
