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
    void events_to_many_new_topics_arrive_in_the_order_they_were_sent() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "gerrit/#");
             Subscriber persistent = Subscriber.connect(app.tcpUrl(), firehose.Clients.id("durable"), false).subscribe("gerrit/#", 1)) {
            ProducerTemplate producer = app.context().createProducerTemplate();
            for (int i = 0; i < 300; i++) {
                // every event a topic never seen before: each creates and stores an address in the broker
                producer.sendBodyAndHeader("direct:publish", "{\"n\":" + i + "}", Topic.HEADER, Topic.of("gerrit", "project" + i, "t"));
            }
            for (int i = 0; i < 300; i++) {
                assertEquals("{\"n\":" + i + "}", subscriber.next(Duration.ofSeconds(10)).payload(), "clean session, event " + i);
                assertEquals("{\"n\":" + i + "}", persistent.next(Duration.ofSeconds(10)).payload(), "persistent session, event " + i);
            }
        }
    }
}
