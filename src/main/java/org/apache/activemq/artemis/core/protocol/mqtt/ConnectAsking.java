package org.apache.activemq.artemis.core.protocol.mqtt;

import java.lang.reflect.Field;
import java.util.List;
import java.util.Objects;

import broker.artemis.members.ArtemisMembers;
import java.util.concurrent.Executor;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.netty.util.ReferenceCountUtil;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.ServerConsumer;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.apache.activemq.artemis.utils.actors.Actor;

/**
 * Artemis' MQTT handler, with four changes.
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
 * <p>
 * The connections of one client id take their turns one at a time, in its lane ({@link ClientLanes}), and a connection
 * whose id another connection has taken over has what it sent after that dropped ({@link #act}): Artemis ran the
 * CONNECTs, SUBSCRIBEs and session ends of clients taking one id over from each other at once side by side on the one
 * session state of that id (an ERROR with a stack trace each, and a subscription queue that could stay behind).
 * <p>
 * An UNSUBSCRIBE stops the subscriptions it removes before Artemis closes them ({@link StoppedUnsubscribe}).
 */
final class ConnectAsking extends MQTTProtocolHandler {

    private static final Field ACTOR = ArtemisMembers.field(MQTTProtocolHandler.class, "mqttMessageActor", Actor.class, 23);

    private final Executor pool;
    private final MQTTStateManager stateManager;
    /** Null: every packet goes to the pool, as in Artemis. */
    private final SessionStates states;
    private final Actor<MqttMessage> actor;
    private final ClientLanes lanes;
    /** The lane of the client id the connection's CONNECT gave; null before it, and for an id the broker assigns. */
    private volatile ClientLanes.Lane lane;
    /** The client id the connection's CONNECT gave, when it has a lane. */
    private volatile String clientId;
    private volatile Channel channel;
    private volatile EventLoop loop;
    /** The packet being read, on the event loop; null otherwise. */
    private MqttMessage reading;
    /** The CONNECT read was MQTT 3.x with a clean session. Event loop only. */
    private boolean cleanV3;

    ConnectAsking(ActiveMQServer server, MQTTProtocolManager protocolManager, SessionStates states, ClientLanes lanes) {
        super(server, protocolManager);
        this.pool = server.getThreadPool();
        this.stateManager = protocolManager.getStateManager();
        this.states = states;
        this.lanes = lanes;
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
        ArtemisMembers.overrides(ConnectAsking.class, "handleUnsubscribe", 41, MqttUnsubscribeMessage.class);
        StoppedUnsubscribe.requireArtemis();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (loop == null) {
            loop = ctx.channel().eventLoop();
            channel = ctx.channel();
        }
        if (msg instanceof MqttConnectMessage connect && connect.variableHeader() != null) {
            cleanV3 = connect.variableHeader().version() < 5 && connect.variableHeader().isCleanSession();
            String id = connect.payload().clientIdentifier();
            if (lane == null && id != null && !id.isEmpty()) {
                clientId = id;
                lane = lanes.of(id);
            }
        }
        reading = msg instanceof MqttMessage message ? message : null;
        try {
            super.channelRead(ctx, msg);
        } finally {
            reading = null;
        }
    }

    /**
     * Runs the actor's turn in the lane of the connection's client id ({@link ClientLanes}): here if it holds only the
     * packet being read, that packet is handled here, and the lane is idle; else on the pool when the lane's turn comes.
     */
    private void dispatch(Runnable turn) {
        EventLoop current = loop;
        ClientLanes.Lane own = lane;
        boolean here = states != null && current != null && current.inEventLoop() && reading != null && actor.remaining() == 1
                && handledHere(reading);
        if (own == null) {
            if (here) {
                turn.run();
            } else {
                pool.execute(turn);
            }
        } else if (!here || !own.runIfIdle(turn)) {
            own.execute(turn);
        }
    }

    /**
     * Drops what a connection sent after another connection took its client id over, or after its session ended: MQTT
     * has the broker close it, and Artemis handled it on the session it had just stopped, against the state the id's
     * next connection now holds (a SUBSCRIBE made the next connection's queue again and failed on the closed session,
     * an ERROR each time, and the queue could stay behind).
     */
    @Override
    public void act(MqttMessage message) {
        if (!(message instanceof MqttConnectMessage) && notHolder()) {
            ReferenceCountUtil.release(message);
            return;
        }
        super.act(message);
    }

    /**
     * True when the connection's CONNECT gave a client id that another connection, or none, holds now. (Not
     * {@code isDestroyed()}: {@code MQTTConnection} sets a field of its own and its superclass answers with another.)
     */
    private boolean notHolder() {
        String id = clientId;
        Channel own = channel;
        if (id == null || own == null) {
            return false;
        }
        RemotingConnection connection = BoundedMQTTProtocolManagerFactory.connectionOf(own);
        return connection != null && stateManager.getConnectedClient(id) != connection;
    }

    private boolean handledHere(MqttMessage message) {
        if (message instanceof MqttConnectMessage connect) {
            String id = connect.payload().clientIdentifier();
            return id == null || id.isEmpty() || states.get(id) == null && stateManager.getConnectedClient(id) == null;
        }
        return message instanceof MqttSubscribeMessage && cleanV3;
    }

    @Override
    void handleUnsubscribe(MqttUnsubscribeMessage unsubscribe) throws Exception {
        List<ServerConsumer> stopped = StoppedUnsubscribe.stop(this, unsubscribe);
        try {
            super.handleUnsubscribe(unsubscribe);
        } finally {
            StoppedUnsubscribe.restartOpen(this, stopped);
        }
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
