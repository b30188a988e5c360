package broker;

import broker.artemis.WildcardBindingRepair;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.Bindings;
import org.apache.activemq.artemis.core.postoffice.PostOffice;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link WildcardBindingRepair}: a wildcard subscription missing from a topic's list of subscriptions (what Artemis'
 * race leaves behind when the subscription is added while the topic's first message is routed) is put back, and
 * counted in {@code firehose_broker_subscriptions_repaired_total}.
 */
class WildcardBindingRepairIT {

    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path data;

    private static final String REPAIRED = "firehose_broker_subscriptions_repaired_total";

    @Test
    void a_wildcard_subscription_missing_from_a_topics_list_gets_that_topic_again() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber first = Subscriber.on(app.tcpUrl(), "ansible/#")) {
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/deploy", "one", 1, false); // builds the topic's list: {first}
            assertEquals("one", first.next(WAIT).payload());

            PostOffice postOffice = app.broker().server().getPostOffice();
            double before = repaired(app); // read before the second subscription, which is checked 100-300 ms after it comes
            try (Subscriber second = Subscriber.on(app.tcpUrl(), "ansible/#")) {
                // the state the race leaves: the second subscription is bound, but not in the topic's list
                Bindings topic = postOffice.lookupBindingsForAddress(SimpleString.of("ansible.deploy"));
                Binding missing = topic.getBindings().stream().filter(b -> b.getUniqueName().toString().contains(second.client().getClientId()))
                        .findFirst().orElseThrow();
                assertNotNull(topic.removeBindingByUniqueName(missing.getUniqueName()));

                Await.until(WAIT, () -> repaired(app) > before, () -> "not repaired: " + repaired(app));
                assertNotNull(topic.getBinding(missing.getUniqueName().toString()));
                Clients.publish(publisher, "ansible/deploy", "two", 1, false);
                assertEquals("two", second.next(WAIT).payload());
                assertEquals("two", first.next(WAIT).payload());
                assertTrue(first.poll(Duration.ofMillis(200)) == null, "once");
            } finally {
                Clients.close(publisher);
            }
        }
    }

    /** The repairs counted on {@code /observe/metrics}, as users see them. */
    private static double repaired(FirehoseApp app) {
        String metrics;
        try {
            metrics = app.http("/observe/metrics").body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
        Matcher value = Pattern.compile("(?m)^" + REPAIRED + " (\\S+)$").matcher(metrics);
        assertTrue(value.find(), () -> REPAIRED + " missing from " + metrics);
        return Double.parseDouble(value.group(1));
    }
}
