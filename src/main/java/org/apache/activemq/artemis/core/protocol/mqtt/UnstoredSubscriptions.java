package org.apache.activemq.artemis.core.protocol.mqtt;

import java.lang.reflect.Field;
import java.util.Objects;

import broker.artemis.members.ArtemisMembers;
import java.lang.reflect.Proxy;

import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.ActiveMQServer;

/**
 * At every SUBSCRIBE Artemis serialises the client's whole session (its subscriptions) into a record and sends it to
 * the session store, clean sessions too, where Firehose drops the record of an MQTT 3.x clean session
 * ({@code broker.artemis.MqttSessionStore}): a tenth of a reconnect storm's time on the broker, for a record thrown away.
 * A 3.x clean session's subscription manager is given, before its CONNECT is handled, a state manager made with
 * subscription persistence off, whose store and removal of session records do nothing: the only two things a
 * subscription manager asks of it. The session's own state manager, which cleans a previous session of the same
 * client id, is untouched; persistent and MQTT 5 sessions are untouched. Artemis' private final field is set by
 * reflection ({@link ArtemisMembers}): a later Artemis without it fails Firehose's start, by name.
 */
final class UnstoredSubscriptions {

    private static final Field SESSION = ArtemisMembers.field(MQTTProtocolHandler.class, "session", MQTTSession.class, 28);
    private static final Field STATE_MANAGER = ArtemisMembers.field(MQTTSubscriptionManager.class, "stateManager", MQTTStateManager.class, 28);
    /** Artemis' state manager as made for a broker whose MQTT subscription persistence is off. */
    static final MQTTStateManager UNSTORED = unstored();

    private UnstoredSubscriptions() {
    }

    /** Fails, naming the member, unless this Artemis has what this class reaches. */
    static void requireArtemis() {
        Objects.requireNonNull(SESSION);
        Objects.requireNonNull(STATE_MANAGER);
        Objects.requireNonNull(UNSTORED);
    }

    /** The subscription manager of {@code handler}'s session stores no session record from now on. */
    static void of(MQTTProtocolHandler handler) throws IllegalAccessException {
        MQTTSession session = (MQTTSession) SESSION.get(handler);
        if (session != null && session.getSubscriptionManager() != null) {
            STATE_MANAGER.set(session.getSubscriptionManager(), UNSTORED);
        }
    }

    /** Made by Artemis' own constructor, which with persistence off asks the server for its configuration only. */
    private static MQTTStateManager unstored() {
        Configuration config = new ConfigurationImpl().setMqttSubscriptionPersistenceEnabled(false);
        ActiveMQServer server = (ActiveMQServer) Proxy.newProxyInstance(ActiveMQServer.class.getClassLoader(),
                new Class<?>[] {ActiveMQServer.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getConfiguration" -> config;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "a server without MQTT subscription persistence";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        try {
            return ArtemisMembers.constructor(MQTTStateManager.class, 28, ActiveMQServer.class).newInstance(server);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Artemis' MQTTStateManager could not be made without subscription persistence (docs/artemis-changes.md row 28)", e);
        }
    }
}
