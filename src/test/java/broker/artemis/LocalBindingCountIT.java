package broker.artemis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.postoffice.Bindings;
import org.apache.activemq.artemis.core.postoffice.impl.BindingsImpl;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A topic's list of subscriptions counts its local ones instead of walking them all at each change
 * ({@link LocalBindingCount}). The test reads the count where Artemis keeps the list's subscriptions by id: its
 * private map, which Firehose's counting map replaces.
 */
class LocalBindingCountIT {

    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path data;

    @Test
    void a_topics_list_knows_its_local_subscriptions_as_they_come_and_go_and_still_routes_to_all() throws Exception {
        // without the history, whose subscription to every topic would be one more in every list
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").set("firehose.history.enabled", "false").start()) {
            List<Subscriber> exact = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                exact.add(Subscriber.on(app.tcpUrl(), "ansible/count/topic"));
            }
            Bindings list = bindings(app, "ansible.count.topic");
            assertEquals(20, counted(list), "counting from the list's making");
            assertTrue(list.hasLocalBinding());

            List<Subscriber> wild = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                wild.add(Subscriber.on(app.tcpUrl(), "ansible/wild/#"));
            }
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/count/topic", "to all", 1, false);
            Clients.publish(publisher, "ansible/wild/new", "first of its topic", 1, false);
            for (Subscriber subscriber : exact) {
                assertEquals("to all", subscriber.next(WAIT).payload());
            }
            for (Subscriber subscriber : wild) {
                assertEquals("first of its topic", subscriber.next(WAIT).payload());
            }
            // built as its first message was routed, outside any lock, holding wildcard subscriptions only: counting from
            // its making (adopted later, by a copy, it lost the subscriptions Artemis added to it meanwhile)
            Bindings built = bindings(app, "ansible.wild.new");
            assertEquals(3, counted(built));
            assertEquals(3, built.getBindings().size(), "every subscription in the list by id, where another node's messages look");
            assertTrue(built.hasLocalBinding());
            wild.add(Subscriber.on(app.tcpUrl(), "ansible/+/new"));
            assertEquals(4, counted(built), "a wildcard subscription added later is counted");

            for (int i = 0; i < 15; i++) {
                exact.remove(0).close();
            }
            Await.until(WAIT, () -> counted(list) == 5, () -> counted(list) + " local, 5 expected");
            assertTrue(list.hasLocalBinding());
            Clients.publish(publisher, "ansible/count/topic", "to the rest", 1, false);
            for (Subscriber subscriber : exact) {
                assertEquals("to the rest", subscriber.next(WAIT).payload());
            }
            for (Subscriber subscriber : exact) {
                subscriber.close();
            }
            Await.until(WAIT, () -> counted(list) == 0, () -> counted(list) + " local, none expected");
            assertFalse(list.hasLocalBinding(), "no local subscription left");
            Clients.close(publisher);
            for (Subscriber subscriber : wild) {
                subscriber.close();
            }
        }
    }

    /**
     * The local subscriptions that {@code list}'s map by id counts: Artemis' private {@code BindingsImpl.bindingsIdMap},
     * which must be {@link LocalBindingCount}'s counting map, read with its private count.
     */
    private static int counted(Bindings list) {
        try {
            Field idMap = BindingsImpl.class.getDeclaredField("bindingsIdMap");
            idMap.setAccessible(true);
            Map<?, ?> map = (Map<?, ?>) idMap.get(list);
            assertEquals(LocalBindingCount.class, map.getClass().getEnclosingClass(),
                    () -> "the list's map by id is " + map.getClass().getName() + ", not LocalBindingCount's counting map");
            Field local = map.getClass().getDeclaredField("local");
            local.setAccessible(true);
            return ((AtomicInteger) local.get(map)).get();
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot read the count of " + list, e);
        }
    }

    private static Bindings bindings(FirehoseApp app, String address) throws Exception {
        Bindings bindings = app.broker().server().getPostOffice().lookupBindingsForAddress(SimpleString.of(address));
        assertNotNull(bindings, address);
        assertTrue(bindings instanceof BindingsImpl);
        return bindings;
    }
}
