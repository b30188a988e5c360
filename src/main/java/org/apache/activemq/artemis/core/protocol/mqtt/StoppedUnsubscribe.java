package org.apache.activemq.artemis.core.protocol.mqtt;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import broker.artemis.members.ArtemisMembers;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import org.apache.activemq.artemis.core.server.ServerConsumer;
import org.apache.activemq.artemis.core.server.impl.ServerSessionImpl;

/**
 * An UNSUBSCRIBE stops the subscriptions it removes before Artemis closes them. Artemis closes a subscription's
 * consumer holding the consumer's monitor and waits there (30 s at most) for the deliveries under way to end, while a
 * delivery at QoS 0 acknowledges itself through a method synchronised on that monitor: an UNSUBSCRIBE while events
 * flowed to the subscription stalled both for 30 s, with a WARN (AMQ222109) and a thread dump, and the subscriber's
 * event loop (which delivers, {@code broker.artemis.EventLoopDelivery}) with it; the client had its UNSUBACK and the
 * SUBACK of what it asked next 30 s late. Stopping a consumer waits for its deliveries without the monitor, as
 * Artemis does itself before it replaces a subscription or ends a session; then closing it waits for nothing. A
 * subscription the UNSUBSCRIBE did not remove after all is started again.
 */
final class StoppedUnsubscribe {

    private static final Field SESSION = ArtemisMembers.field(MQTTProtocolHandler.class, "session", MQTTSession.class, 41);

    private StoppedUnsubscribe() {
    }

    /** Fails, naming the member, unless this Artemis has what this class reaches. */
    static void requireArtemis() {
        Objects.requireNonNull(SESSION);
    }

    /** The consumers of the subscriptions {@code unsubscribe} names on {@code handler}'s session, stopped. */
    static List<ServerConsumer> stop(MQTTProtocolHandler handler, MqttUnsubscribeMessage unsubscribe) throws IllegalAccessException {
        MQTTSession session = (MQTTSession) SESSION.get(handler);
        ServerSessionImpl server = session == null ? null : session.getServerSession();
        List<String> filters = unsubscribe.payload() == null ? null : unsubscribe.payload().topics();
        if (server == null || filters == null || session.getState() == null) {
            return List.of();
        }
        List<String> queues = new ArrayList<>(filters.size());
        for (String filter : filters) {
            queues.add(MQTTUtil.getCoreQueueFromMqttTopic(filter, session.getState().getClientId(), session.getWildcardConfiguration()));
        }
        List<ServerConsumer> stopped = new ArrayList<>();
        for (ServerConsumer consumer : server.getServerConsumers()) {
            if (queues.contains(consumer.getQueue().getName().toString())) {
                consumer.setStarted(false);
                stopped.add(consumer);
            }
        }
        return stopped;
    }

    /** Starts again those of {@code stopped} that are still open. */
    static void restartOpen(MQTTProtocolHandler handler, List<ServerConsumer> stopped) throws IllegalAccessException {
        MQTTSession session = (MQTTSession) SESSION.get(handler);
        ServerSessionImpl server = session == null ? null : session.getServerSession();
        for (ServerConsumer consumer : stopped) {
            if (server != null && server.locateConsumer(consumer.getID()) == consumer) {
                consumer.setStarted(true);
            }
        }
    }
}
