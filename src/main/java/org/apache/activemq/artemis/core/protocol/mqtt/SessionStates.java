package org.apache.activemq.artemis.core.protocol.mqtt;

import java.lang.reflect.Field;
import java.util.Objects;

import broker.artemis.members.ArtemisMembers;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The MQTT session states of the broker (client id to state), put in place of Artemis' own map. Each CONNECT asks
 * whether its client has a session by copying every session state into a new {@code HashMap}
 * ({@code MQTTConnectionManager.connect}: {@code getSessionStates().containsKey(clientId)}): at 10,000 connected
 * clients 170 µs and 1 MiB of garbage per CONNECT, half of a reconnect storm's time, and it grows with every
 * client. On the thread handling a CONNECT ({@link ConnectAsking}), the copy made of this map holds that client's
 * session only, if it has one: the answer to the question asked, without the walk. Everywhere else the map is
 * the whole map. Artemis' private final field is set once, by reflection, when the protocol manager is made:
 * nothing else reaches it, and the copy is in private code.
 */
final class SessionStates extends ConcurrentHashMap<String, MQTTSessionState> {

    /** The client id of the CONNECT the current thread handles, or null. */
    static final ThreadLocal<String> CONNECTING = new ThreadLocal<>();

    private static final Field STATES = ArtemisMembers.field(MQTTStateManager.class, "sessionStates", Map.class, 21);

    /** Fails, naming the member, unless this Artemis has what this class reaches. */
    static void requireArtemis() {
        Objects.requireNonNull(STATES);
    }

    private SessionStates(Map<String, MQTTSessionState> states) {
        super(states);
    }

    /** Puts a SessionStates in place of {@code manager}'s map, with its sessions (those read from the journal). */
    static synchronized SessionStates adopt(MQTTStateManager manager) {
        try {
            Field field = STATES;
            Object states = field.get(manager);
            if (states instanceof SessionStates adopted) {
                return adopted;
            }
            @SuppressWarnings("unchecked")
            SessionStates adopted = new SessionStates((Map<String, MQTTSessionState>) states);
            field.set(manager, adopted);
            return adopted;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("could not put SessionStates in place of MQTTStateManager.sessionStates"
                    + " (docs/artemis-changes.md row 21)", e);
        }
    }

    @Override
    public int size() {
        String id = CONNECTING.get();
        return id == null ? super.size() : connectingSession(id) == null ? 0 : 1;
    }

    @Override
    public Set<Map.Entry<String, MQTTSessionState>> entrySet() {
        String id = CONNECTING.get();
        if (id == null) {
            return super.entrySet();
        }
        MQTTSessionState state = connectingSession(id);
        return state == null ? Set.of() : Set.of(Map.entry(id, state));
    }

    /**
     * The session a CONNECT finds: none for a state that was never attached to a connection and holds no
     * subscription. Artemis' takeover check makes such an empty state ({@code getSessionState} creates one) when
     * the client's previous connection is still listed while it ends: its session, of interval 0, was removed a
     * moment before, and the CONNACK said Session Present 1 (4 in 100 quick reconnects). A session read back from
     * the journal holds its subscriptions.
     */
    private MQTTSessionState connectingSession(String id) {
        MQTTSessionState state = id.isEmpty() ? null : get(id);
        return state == null || state.getSession() == null && state.getSubscriptions().isEmpty() ? null : state;
    }
}
