package org.apache.activemq.artemis.core.protocol.mqtt;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.util.AttributeKey;
import org.apache.activemq.artemis.api.core.BaseInterceptor;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyServerConnection;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.spi.core.protocol.ConnectionEntry;
import org.apache.activemq.artemis.spi.core.protocol.ProtocolManager;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.apache.activemq.artemis.spi.core.remoting.Acceptor;
import org.apache.activemq.artemis.spi.core.remoting.Connection;
import org.apache.activemq.artemis.utils.actors.Actor;
import org.apache.activemq.artemis.utils.uri.BeanSupport;

/**
 * Artemis' MQTT with the acceptor's {@code maximumPacketSize} enforced by the decoder for every MQTT version.
 * Artemis itself checks the size only for MQTT 5 PUBLISH packets, after buffering them whole, so an MQTT 3.1.1
 * client could make it hold 256 MiB per connection; and 3.x clients keep the keep-alive they asked for. The broker's
 * own handlers (statistics, back-pressure, the connection limit) are added by the {@code handlers} given, after the
 * decoder; a CONNECT asks whether its client has a session without copying all of them ({@link SessionStates}); a
 * reconnect storm's CONNECTs and SUBSCRIBEs are handled on the event loop that read them ({@link ConnectAsking}); and
 * the subscriptions of MQTT 3.x clean sessions are not written as session records ({@link UnstoredSubscriptions}).
 * Lives in Artemis' package because the protocol manager's constructor and the MQTT handler's CONNECT method are
 * package-private; it depends on nothing of Firehose's, so that the dependency runs one way.
 */
public class BoundedMQTTProtocolManagerFactory extends MQTTProtocolManagerFactory {

    private final Consumer<ChannelPipeline> handlers;
    private final boolean onEventLoop;

    /**
     * {@code handlers}: adds the broker's own handlers to each MQTT connection's pipeline, after the MQTT decoder;
     * {@code onEventLoop}: the packets {@link ConnectAsking} names are handled on the connection's event loop.
     */
    public BoundedMQTTProtocolManagerFactory(Consumer<ChannelPipeline> handlers, boolean onEventLoop) {
        this.handlers = handlers;
        this.onEventLoop = onEventLoop;
    }

    /** The name of the MQTT decoder in a connection's pipeline: the broker's handlers go after it. */
    public static String decoderName(ChannelPipeline pipeline) {
        return pipeline.context(MqttDecoder.class).name();
    }

    /** The broker's connection for a channel of an MQTT listener; null before the broker made it. */
    public static RemotingConnection connectionOf(Channel channel) {
        ConnectionEntry entry = channel.attr(ENTRY).get();
        return entry == null ? null : entry.connection;
    }

    @Override
    public ProtocolManager createProtocolManager(ActiveMQServer server, Map<String, Object> parameters,
                                                 List<BaseInterceptor> incoming, List<BaseInterceptor> outgoing) throws Exception {
        BeanSupport.stripPasswords(parameters);
        return BeanSupport.setData(new BoundedMQTTProtocolManager(server, incoming, outgoing, handlers, onEventLoop), parameters);
    }

    public static class BoundedMQTTProtocolManager extends MQTTProtocolManager {

        private final Consumer<ChannelPipeline> handlers;
        private final ActiveMQServer server;
        private final SessionStates states;
        private final boolean onEventLoop;

        BoundedMQTTProtocolManager(ActiveMQServer server, List<BaseInterceptor> incoming, List<BaseInterceptor> outgoing,
                                   Consumer<ChannelPipeline> handlers, boolean onEventLoop) throws Exception {
            super(server, incoming, outgoing);
            this.handlers = handlers;
            this.onEventLoop = onEventLoop;
            this.server = server;
            this.states = SessionStates.adopt(getStateManager());
            if (UnstoredSubscriptions.UNSTORED == null) { // made now: a later Artemis without its fields fails the start
                throw new IllegalStateException("no state manager without subscription persistence");
            }
        }

        @Override
        public void addChannelHandlers(ChannelPipeline pipeline) {
            super.addChannelHandlers(pipeline);
            pipeline.replace(MQTTProtocolHandler.class, "mqtt-handler", new ConnectAsking(server, this, onEventLoop ? states : null));
            if (getMaximumPacketSize() > 0) {
                // an oversized packet fails decoding as soon as its length is read, and the client is disconnected
                pipeline.replace(MqttDecoder.class, "mqtt-decoder", new MqttDecoder(getMaximumPacketSize()));
            }
            pipeline.addAfter(decoderName(pipeline), "firehose-keepalive", new KeepAliveAsAsked());
            handlers.accept(pipeline);
        }

        /**
         * Bytes that open no known protocol are taken for MQTT (the only protocol of Firehose's client listeners): the
         * MQTT decoder refuses them, and Firehose closes the connection with one log line a minute. Artemis otherwise
         * takes them for its core protocol, which these listeners do not serve: three ERROR lines with stack traces
         * for each such connection, which it then leaves open.
         */
        @Override
        public boolean acceptsNoHandshake() {
            return true;
        }

        @Override
        public ConnectionEntry createConnectionEntry(Acceptor acceptorUsed, Connection connection) {
            ConnectionEntry entry = super.createConnectionEntry(acceptorUsed, connection);
            if (entry != null && connection instanceof NettyServerConnection netty) {
                netty.getChannel().attr(ENTRY).set(entry);
            }
            return entry;
        }
    }

    private static final AttributeKey<ConnectionEntry> ENTRY = AttributeKey.valueOf("firehose.connection-entry");

    /**
     * Artemis' MQTT handler, with two changes.
     * <p>
     * Each CONNECT is marked on the thread that handles it, so that {@link SessionStates} answers the one question the
     * CONNECT asks of all the sessions: whether its client has one.
     * <p>
     * The packets of a reconnect storm are handled on the connection's event loop, where they were read, instead of
     * being handed to the broker's thread pool (Artemis' {@code mqttMessageActor}) and their answer handed back to the
     * event loop: two thread hand-offs per packet, each a wake-up of a parked thread. Handled here: the CONNECT of a
     * client that has neither a session nor a connection (nothing to take over or to clean, which would wait for
     * other connections or for the disk), and the SUBSCRIBE of an MQTT 3.x clean session (whose subscription queues are
     * not durable, so creating one writes nothing to the bindings journal). Everything else goes to the pool as in
     * Artemis, and a packet is handled here only when nothing of its connection is queued or running on the pool, so
     * the packets of a connection are still handled one at a time and in order. A packet handled here runs in the
     * storage context Artemis gives the event loop's thread (that of the last session it accepted), as one handled on
     * the pool runs in its pool thread's: a context per connection made a cluster lose track of subscriptions (700 of
     * 10,000 made in a storm on one node never became known to the other, {@code bench/cluster.sh m}).
     */
    static final class ConnectAsking extends MQTTProtocolHandler {

        private static final Field ACTOR = actorField();

        private final Executor pool;
        private final MQTTStateManager stateManager;
        /** Null: every packet goes to the pool, as in Artemis. */
        private final SessionStates states;
        private final Actor<MqttMessage> actor;
        private volatile EventLoop loop;
        /** The packet being read, on the event loop; null otherwise. */
        private MqttMessage reading;
        /** The CONNECT read was MQTT 3.x with a clean session. Event loop only. */
        private boolean cleanV3;

        ConnectAsking(ActiveMQServer server, MQTTProtocolManager protocolManager, SessionStates states) {
            super(server, protocolManager);
            this.pool = server.getThreadPool();
            this.stateManager = protocolManager.getStateManager();
            this.states = states;
            this.actor = new Actor<>(this::dispatch, this::act);
            try {
                ACTOR.set(this, actor);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }

        private static Field actorField() {
            try {
                Field field = MQTTProtocolHandler.class.getDeclaredField("mqttMessageActor");
                field.setAccessible(true);
                if (field.getType() != Actor.class) {
                    throw new NoSuchFieldException("mqttMessageActor is a " + field.getType());
                }
                return field;
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new ExceptionInInitializerError(new IllegalStateException("this Artemis' MQTTProtocolHandler has no "
                        + "mqttMessageActor to replace: BoundedMQTTProtocolManagerFactory.ConnectAsking must follow it", e));
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (loop == null) {
                loop = ctx.channel().eventLoop();
            }
            if (msg instanceof MqttConnectMessage connect && connect.variableHeader() != null) {
                cleanV3 = connect.variableHeader().version() < 5 && connect.variableHeader().isCleanSession();
            }
            reading = msg instanceof MqttMessage message ? message : null;
            try {
                super.channelRead(ctx, msg);
            } finally {
                reading = null;
            }
        }

        /** Runs the actor's turn: here if it holds only the packet being read and that packet is handled here. */
        private void dispatch(Runnable turn) {
            EventLoop current = loop;
            if (states != null && current != null && current.inEventLoop() && reading != null && actor.remaining() == 1
                    && handledHere(reading)) {
                turn.run();
            } else {
                pool.execute(turn);
            }
        }

        private boolean handledHere(MqttMessage message) {
            if (message instanceof MqttConnectMessage connect) {
                String id = connect.payload().clientIdentifier();
                return id == null || id.isEmpty() || states.get(id) == null && stateManager.getConnectedClient(id) == null;
            }
            return message instanceof MqttSubscribeMessage && cleanV3;
        }

        @Override
        void handleConnect(MqttConnectMessage connect) throws Exception {
            if (connect.variableHeader().version() < 5 && connect.variableHeader().isCleanSession()) {
                UnstoredSubscriptions.of(this);
            }
            SessionStates.CONNECTING.set(connect.payload().clientIdentifier());
            try {
                super.handleConnect(connect);
            } finally {
                SessionStates.CONNECTING.remove();
            }
        }
    }

    /**
     * At every SUBSCRIBE Artemis serialises the client's whole session (its subscriptions) into a record and sends it to
     * the session store, clean sessions too, where Firehose drops the record of an MQTT 3.x clean session
     * ({@code broker.MqttSessionStore}): a tenth of a reconnect storm's time on the broker, for a record thrown away.
     * A 3.x clean session's subscription manager is given, before its CONNECT is handled, a state manager made with
     * subscription persistence off, whose store and removal of session records do nothing: the only two things a
     * subscription manager asks of it. The session's own state manager, which cleans a previous session of the same
     * client id, is untouched; persistent and MQTT 5 sessions are untouched. Artemis' private final field is set by
     * reflection; a later Artemis without it fails Firehose's start, by name.
     */
    static final class UnstoredSubscriptions {

        private static final Field SESSION = field(MQTTProtocolHandler.class, "session", MQTTSession.class);
        private static final Field STATE_MANAGER = field(MQTTSubscriptionManager.class, "stateManager", MQTTStateManager.class);
        /** Artemis' state manager as made for a broker whose MQTT subscription persistence is off. */
        static final MQTTStateManager UNSTORED = unstored();

        private UnstoredSubscriptions() {
        }

        /** The subscription manager of {@code handler}'s session stores no session record from now on. */
        static void of(MQTTProtocolHandler handler) throws IllegalAccessException {
            MQTTSession session = (MQTTSession) SESSION.get(handler);
            if (session != null && session.getSubscriptionManager() != null) {
                STATE_MANAGER.set(session.getSubscriptionManager(), UNSTORED);
            }
        }

        private static Field field(Class<?> owner, String name, Class<?> type) {
            try {
                Field field = owner.getDeclaredField(name);
                if (field.getType() != type) {
                    throw new NoSuchFieldException(name + " is a " + field.getType());
                }
                field.setAccessible(true);
                return field;
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new ExceptionInInitializerError(new IllegalStateException("this Artemis' " + owner.getSimpleName()
                        + " has no " + name + ": BoundedMQTTProtocolManagerFactory.UnstoredSubscriptions must follow it", e));
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
                Constructor<MQTTStateManager> constructor = MQTTStateManager.class.getDeclaredConstructor(ActiveMQServer.class);
                constructor.setAccessible(true);
                return constructor.newInstance(server);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new ExceptionInInitializerError(new IllegalStateException("this Artemis' MQTTStateManager cannot be made "
                        + "without subscription persistence: BoundedMQTTProtocolManagerFactory.UnstoredSubscriptions must follow it", e));
            }
        }
    }

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
    static final class SessionStates extends ConcurrentHashMap<String, MQTTSessionState> {

        /** The client id of the CONNECT the current thread handles, or null. */
        static final ThreadLocal<String> CONNECTING = new ThreadLocal<>();

        private SessionStates(Map<String, MQTTSessionState> states) {
            super(states);
        }

        /** Puts a SessionStates in place of {@code manager}'s map, with its sessions (those read from the journal). */
        static synchronized SessionStates adopt(MQTTStateManager manager) {
            try {
                Field field = MQTTStateManager.class.getDeclaredField("sessionStates");
                field.setAccessible(true);
                Object states = field.get(manager);
                if (states instanceof SessionStates adopted) {
                    return adopted;
                }
                @SuppressWarnings("unchecked")
                SessionStates adopted = new SessionStates((Map<String, MQTTSessionState>) states);
                field.set(manager, adopted);
                return adopted;
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new IllegalStateException("this Artemis' MQTTStateManager has no sessionStates map to adopt: "
                        + "BoundedMQTTProtocolManagerFactory.SessionStates must follow it", e);
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

    /**
     * MQTT 3.1/3.1.1: "a Keep Alive value of zero has the effect of turning off the keep alive mechanism". Artemis
     * applies its own server keep-alive (60 s) instead, and closes such a subscriber after 90 s without a packet from
     * it, however many messages it is receiving; a client that asked for more than 60 s is cut off early the same
     * way. For 3.x clients the connection's idle limit is what they asked for: none for 0, 1.5 times the keep-alive
     * otherwise. (MQTT 5 clients are told the server's keep-alive and use it.)
     */
    static final class KeepAliveAsAsked extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof MqttConnectMessage connect && connect.variableHeader() != null && connect.variableHeader().version() < 5) {
                ConnectionEntry entry = ctx.channel().attr(ENTRY).get();
                int keepAlive = connect.variableHeader().keepAliveTimeSeconds();
                if (entry != null) {
                    entry.ttl = keepAlive == 0 ? -1 : keepAlive * MQTTUtil.KEEP_ALIVE_ADJUSTMENT;
                }
            }
            super.channelRead(ctx, msg);
        }
    }
}
