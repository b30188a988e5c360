package org.apache.activemq.artemis.core.protocol.mqtt;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.util.Objects;

import broker.artemis.members.ArtemisMembers;
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
final class ConnectAsking extends MQTTProtocolHandler {

    private static final Field ACTOR = ArtemisMembers.field(MQTTProtocolHandler.class, "mqttMessageActor", Actor.class, 23);

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

    /** Fails, naming the member, unless this Artemis has what this class reaches. */
    static void requireArtemis() {
        Objects.requireNonNull(ACTOR);
        ArtemisMembers.overrides(ConnectAsking.class, "handleConnect", 21, MqttConnectMessage.class);
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
