package broker.artemis;

import broker.artemis.SubscriptionFilter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.activemq.artemis.core.filter.Filter;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.QueueBinding;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerBindingPlugin;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Subscription queues decide what reaches them by address ({@link SubscriptionFilter}), as Artemis' selector did. */
class SubscriptionQueuesIT {

    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path data;

    @Test
    void hash_subscribers_get_no_broker_notifications_while_clients_come_and_go() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber everything = Subscriber.on(app.tcpUrl(), "#");
             Subscriber plain = Subscriber.on(app.tcpUrl(), "activemq/#")) {
            // each of these makes Artemis send notifications (session, consumer, binding) to activemq.notifications
            for (int i = 0; i < 3; i++) {
                Subscriber.on(app.tcpUrl(), "ansible/other/" + i).close();
            }
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/marker", "m", 1, false);
            Clients.close(publisher);
            assertEquals("ansible/marker", everything.next(WAIT).topic(), "no notification before the marker");
            assertNull(everything.poll(Duration.ofMillis(300)), "nor after it");
            assertNull(plain.poll(Duration.ofMillis(300)), "'activemq/#' gets no notification either");
        }
    }

    @Test
    void every_subscription_queue_uses_the_address_filter_also_when_loaded_from_the_journal() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            Subscriber.connect(app.tcpUrl(), Clients.id("kept"), false).subscribe("ansible/kept/#", 1).close();
            try (Subscriber hash = Subscriber.on(app.tcpUrl(), "#"); Subscriber exact = Subscriber.on(app.tcpUrl(), "ansible/x")) {
                assertEquals(3, subscriptionQueues(app).size());
            }
            app.close();
            app.start();
            assertEquals(1, subscriptionQueues(app).size(), "the persistent session's queue, read back from the journal");
        }
    }

    @Test
    void deliveries_stay_counted_after_the_subscriber_and_its_queue_are_gone() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            Subscriber leaving = Subscriber.on(app.tcpUrl(), "ansible/counted");
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            for (int i = 0; i < 3; i++) {
                Clients.publish(publisher, "ansible/counted", "m" + i, 1, false);
                leaving.next(WAIT);
            }
            Clients.close(publisher);
            // Paho acknowledges a message after handing it over: close only once the broker has all three PUBACKs
            Await.until(WAIT, () -> subscriptionQueues(app).get(0).getMessagesAcknowledged() == 3, () -> "three acknowledged");
            leaving.close();
            Await.until(WAIT, () -> subscriptionQueues(app).isEmpty(), () -> "the subscription queue is deleted");
            assertEquals(3, app.broker().statistics().messagesSent());
            assertEquals(3, app.broker().statistics().messagesReceived());
            assertEquals(0, app.broker().statistics().messagesDropped());
        }
    }

    /**
     * A subscription queue has its address filter from the moment it is bound (Artemis' selector is not parsed for it,
     * nor put on the queue first), the selector parsed once for all queues of its kind, and its text kept in the
     * queue's configuration, which is what a persistent session's queue stores.
     */
    @Test
    void a_subscription_queue_is_bound_with_its_address_filter_and_keeps_its_selector_text() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start()) {
            Map<String, Filter> bound = new ConcurrentHashMap<>();
            app.broker().server().registerBrokerPlugin(new ActiveMQServerBindingPlugin() {
                @Override
                public void afterAddBinding(Binding binding) {
                    if (binding instanceof QueueBinding queue && (queue.getAddress().toString().startsWith("ansible")
                            || queue.getAddress().toString().equals("#"))) {
                        bound.put(queue.getAddress().toString(), queue.getFilter());
                    }
                }
            });
            try (Subscriber first = Subscriber.on(app.tcpUrl(), "ansible/first");
                 Subscriber second = Subscriber.on(app.tcpUrl(), "ansible/second");
                 Subscriber wildcard = Subscriber.on(app.tcpUrl(), "#")) {
                assertEquals(Set.of("ansible.first", "ansible.second", "#"), bound.keySet());
                bound.values().forEach(filter -> assertInstanceOf(SubscriptionFilter.class, filter, String.valueOf(filter)));
                SubscriptionFilter one = (SubscriptionFilter) bound.get("ansible.first");
                SubscriptionFilter two = (SubscriptionFilter) bound.get("ansible.second");
                assertNotSame(one, two, "each queue its own filter (No Local is per subscription)");
                assertSame(selector(one), selector(two), "one parsed selector for the queues of a kind");
                assertNotSame(selector(one), selector((SubscriptionFilter) bound.get("#")), "'#' leaves $ topics out");
                for (Queue queue : subscriptionQueues(app)) {
                    assertEquals(queue.getFilter().getFilterString(), queue.getQueueConfiguration().getFilterString(), queue.getName()::toString);
                    assertTrue(queue.getFilter().getFilterString().toString().startsWith("NOT ((AMQAddress = 'activemq.management')"),
                            queue.getFilter().getFilterString()::toString);
                }
            }
        }
    }

    /** The parsed selector a filter holds (its private field). */
    private static Filter selector(SubscriptionFilter filter) {
        try {
            Field selector = SubscriptionFilter.class.getDeclaredField("selector");
            selector.setAccessible(true);
            return (Filter) selector.get(filter);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot read the selector of " + filter, e);
        }
    }

    /** Queues bound to MQTT topics, each checked to carry the address filter. */
    private static List<Queue> subscriptionQueues(FirehoseApp app) {
        List<Queue> queues = new java.util.ArrayList<>();
        for (Binding binding : (Iterable<Binding>) app.broker().server().getPostOffice().getAllBindings()::iterator) {
            if (binding instanceof QueueBinding queueBinding && !queueBinding.getQueue().isInternalQueue()
                    && !queueBinding.getAddress().toString().startsWith("$sys.")
                    // the history's subscription: the application's own, not an MQTT client's
                    && !queueBinding.getQueue().getName().toString().startsWith("firehose.history.")) {
                Queue queue = queueBinding.getQueue();
                assertInstanceOf(SubscriptionFilter.class, queue.getFilter(), queue.getName() + ": " + queue.getFilter());
                queues.add(queue);
            }
        }
        return queues;
    }
}
