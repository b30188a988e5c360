package broker;

import broker.artemis.UnstoredTopicAddresses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;

import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A topic's address is kept in memory only ({@link UnstoredTopicAddresses} marks it temporary while Artemis adds it):
 * when the client whose subscription created it leaves while another is still subscribed, Artemis tried to remove it
 * (a temporary address goes with the connection that made it) and failed, with a WARN and a stack trace each time.
 * The address stays for the other subscriber, who goes on receiving; the log stays quiet, with no filter hiding it.
 */
class UnstoredTopicAddressesIT {

    @TempDir
    Path data;

    @Test
    void the_first_subscriber_of_a_topic_leaving_disturbs_neither_the_others_nor_the_log() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            Subscriber first = Subscriber.on(app.tcpUrl(), "ansible/exact");
            try (Subscriber second = Subscriber.on(app.tcpUrl(), "ansible/exact")) {
                first.close();
                MqttClient publisher = Clients.publisher(app.tcpUrl());
                for (int i = 0; i < 3; i++) {
                    Clients.publish(publisher, "ansible/exact", "after " + i, 1, false);
                    assertEquals("after " + i, second.next(Duration.ofSeconds(10)).payload());
                }
                Clients.close(publisher);
            }
            assertTrue(log.problems().isEmpty(), "no WARN or ERROR: " + log.problems());
        }
    }
}
