package broker.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import org.junit.jupiter.api.Test;

class EventIdsTest {

    @Test
    void ids_are_well_formed_distinct_and_sort_in_the_order_they_were_given_across_threads() throws Exception {
        EventIds ids = new EventIds();
        ConcurrentLinkedQueue<List<String>> perThread = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread thread = new Thread(() -> {
                List<String> mine = new ArrayList<>();
                for (int i = 0; i < 50_000; i++) {
                    mine.add(ids.next());
                }
                perThread.add(mine);
            });
            thread.start();
            threads.add(thread);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        Set<String> all = new HashSet<>();
        for (List<String> mine : perThread) {
            for (int i = 0; i < mine.size(); i++) {
                assertTrue(EventIds.wellFormed(mine.get(i)), mine.get(i));
                if (i > 0) {
                    assertTrue(mine.get(i - 1).compareTo(mine.get(i)) < 0, "each thread's ids increase");
                }
            }
            all.addAll(mine);
        }
        assertEquals(200_000, all.size(), "no id given twice");
    }

    @Test
    void an_id_tells_when_its_event_was_received_and_time_bounds_sort_with_ids() {
        long before = System.currentTimeMillis();
        String id = new EventIds().next();
        long after = System.currentTimeMillis();
        long received = EventIds.receivedMillis(id);
        assertTrue(received >= before && received <= after, received + " within " + before + ".." + after);
        assertTrue(EventIds.lowestAt(received).compareTo(id) <= 0);
        assertTrue(EventIds.lowestAt(received + 1).compareTo(id) > 0);
    }

    @Test
    void two_brokers_give_different_ids_and_a_derived_id_is_the_same_wherever_it_is_derived() {
        assertNotEquals(new EventIds().next().substring(16), new EventIds().next().substring(16), "a node's part");
        assertEquals(EventIds.derived(1_765_000_000_000L, "client\nansible/x"), EventIds.derived(1_765_000_000_000L, "client\nansible/x"));
        assertTrue(EventIds.wellFormed(EventIds.derived(1_765_000_000_000L, "c\nt")));
        assertEquals(1_765_000_000_000L, EventIds.receivedMillis(EventIds.derived(1_765_000_000_000L, "c\nt")));
    }

    @Test
    void only_22_lower_case_hex_digits_are_an_id() {
        assertTrue(EventIds.wellFormed("0123456789abcdef012345"));
        assertFalse(EventIds.wellFormed("0123456789ABCDEF012345"));
        assertFalse(EventIds.wellFormed("0123456789abcdef01234"));
        assertFalse(EventIds.wellFormed("' OR 1=1 --"));
        assertFalse(EventIds.wellFormed(null));
    }

    @Test
    void the_stamp_adds_the_id_last_keeps_the_clients_own_properties_in_order_and_drops_a_forged_id() {
        MqttProperties own = new MqttProperties();
        own.add(new MqttProperties.UserProperties(List.of(new MqttProperties.StringPair("a", "1"),
                new MqttProperties.StringPair(EventStamp.PROPERTY, "forged"), new MqttProperties.StringPair("b", "2"))));
        own.add(new MqttProperties.StringProperty(MqttProperties.MqttPropertyType.CONTENT_TYPE.value(), "application/json"));
        byte[] payload = "{\"x\":1}".getBytes(StandardCharsets.UTF_8);
        MqttPublishMessage publish = new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.AT_LEAST_ONCE, false, 0),
                new MqttPublishVariableHeader("ansible/x", 7, own), Unpooled.wrappedBuffer(payload));

        MqttPublishMessage stamped = EventStamp.stamped(publish, "0123456789abcdef012345");

        @SuppressWarnings("unchecked")
        List<MqttProperties.StringPair> users = (List<MqttProperties.StringPair>) stamped.variableHeader().properties()
                .getProperty(MqttProperties.MqttPropertyType.USER_PROPERTY.value()).value();
        assertEquals(List.of("a=1", "b=2", EventStamp.PROPERTY + "=0123456789abcdef012345"),
                users.stream().map(p -> p.key + "=" + p.value).toList());
        assertEquals("application/json", stamped.variableHeader().properties()
                .getProperty(MqttProperties.MqttPropertyType.CONTENT_TYPE.value()).value());
        assertEquals("ansible/x", stamped.variableHeader().topicName());
        assertEquals(7, stamped.variableHeader().packetId());
        assertTrue(stamped.payload() == publish.payload(), "the payload passed on as it is");
    }
}
