package publish;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;

import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
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

    @Test
    void events_keep_their_order_per_topic_as_mqtt_promises_with_new_topics_and_persistent_subscribers() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#");
             Subscriber persistent = Subscriber.connect(app.tcpUrl(), firehose.Clients.id("durable"), false).subscribe("gerrit/#", 1)) {
            ProducerTemplate producer = app.context().createProducerTemplate();
            int events = 300;
            for (int i = 0; i < events; i++) {
                // a new topic every third event: each creates and stores an address in the broker
                String topic = i % 3 == 0 ? Topic.of("gerrit", "project" + i, "t") : Topic.of("gerrit", "steady", "t" + (i % 3));
                producer.sendBodyAndHeader("direct:publish", String.valueOf(i), Topic.HEADER, topic);
            }
            for (Subscriber s : new Subscriber[] {subscriber, persistent}) {
                java.util.Map<String, Integer> last = new java.util.HashMap<>();
                java.util.Set<Integer> seen = new java.util.HashSet<>();
                for (int i = 0; i < events; i++) {
                    Subscriber.Received r = s.next(Duration.ofSeconds(10));
                    int n = Integer.parseInt(r.payload());
                    org.junit.jupiter.api.Assertions.assertTrue(seen.add(n), "event " + n + " twice");
                    Integer before = last.put(r.topic(), n);
                    org.junit.jupiter.api.Assertions.assertTrue(before == null || before < n,
                            "on " + r.topic() + ": " + n + " after " + before);
                }
            }
        }
    }
}
