package org.apache.activemq.artemis.core.protocol.mqtt;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import broker.artemis.members.ArtemisMembers;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.mqtt.MqttDecoder;
import io.netty.util.AttributeKey;
import org.apache.activemq.artemis.api.core.BaseInterceptor;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyServerConnection;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.spi.core.protocol.ConnectionEntry;
import org.apache.activemq.artemis.spi.core.protocol.ProtocolManager;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.apache.activemq.artemis.utils.uri.BeanSupport;

/**
 * Artemis' MQTT with the acceptor's {@code maximumPacketSize} enforced by the decoder for every MQTT version.
 * Artemis itself checks the size only for MQTT 5 PUBLISH packets, after buffering them whole, so an MQTT 3.1.1
 * client could make it hold 256 MiB per connection; and 3.x clients keep the keep-alive they asked for. The broker's
 * own handlers (statistics, back-pressure, the connection limit) are added by the {@code handlers} given, after the
 * decoder; a CONNECT asks whether its client has a session without copying all of them ({@link SessionStates}); a
 * reconnect storm's CONNECTs and SUBSCRIBEs are handled on the event loop that read them, and the connections of one
 * client id one at a time ({@link ConnectAsking}, {@link ClientLanes}); and
 * the subscriptions of MQTT 3.x clean sessions are not written as session records ({@link UnstoredSubscriptions}).
 * Lives in Artemis' package because the protocol manager's constructor and the MQTT handler's CONNECT method are
 * package-private; of Firehose it depends only on {@link ArtemisMembers}, so that the dependency runs one way.
 */
public class BoundedMQTTProtocolManagerFactory extends MQTTProtocolManagerFactory {

    private final Consumer<ChannelPipeline> handlers;
    private final boolean onEventLoop;
    /** Shared by the listeners: one client id's connections may come in on several ({@link ClientLanes}). */
    private ClientLanes lanes;

    /**
     * {@code handlers}: adds the broker's own handlers to each MQTT connection's pipeline, after the MQTT decoder;
     * {@code onEventLoop}: the packets {@link ConnectAsking} names are handled on the connection's event loop.
     */
    public BoundedMQTTProtocolManagerFactory(Consumer<ChannelPipeline> handlers, boolean onEventLoop) {
        this.handlers = handlers;
        this.onEventLoop = onEventLoop;
    }

    /**
     * Fails, with one line naming the member and its row of docs/artemis-changes.md, unless the Artemis on the class
     * path has every member that the classes here reach or override: called before any listener opens, so that no
     * mismatch waits for the first connection.
     */
    public static void requireArtemis() {
        ArtemisMembers.constructor(MQTTProtocolManager.class, 1, ActiveMQServer.class, List.class, List.class);
        for (Runnable check : List.<Runnable>of(ConnectAsking::requireArtemis, SessionStates::requireArtemis,
                UnstoredSubscriptions::requireArtemis)) {
            try {
                check.run();
            } catch (ExceptionInInitializerError e) { // a member a class' static field holds
                if (e.getCause() instanceof RuntimeException cause) {
                    throw cause;
                }
                throw e;
            }
        }
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

    /**
     * The listener (acceptor name, e.g. {@code mqtt-ws}) an MQTT connection came in on, recorded when the broker made the
     * connection and never changed after; null for any other connection (the cluster port's core connections). Unlike
     * the connection's protocol name, which Artemis changes at an MQTT 5 CONNECT ({@code MQTT} to {@code MQTT5}).
     */
    public static String listenerOf(RemotingConnection connection) {
        return connection != null && connection.getTransportConnection() instanceof NettyServerConnection netty
                ? netty.getChannel().attr(LISTENER).get() : null;
    }

    @Override
    public ProtocolManager createProtocolManager(ActiveMQServer server, Map<String, Object> parameters,
                                                 List<BaseInterceptor> incoming, List<BaseInterceptor> outgoing) throws Exception {
        BeanSupport.stripPasswords(parameters);
        synchronized (this) {
            if (lanes == null) {
                lanes = new ClientLanes(server.getThreadPool());
            }
        }
        return BeanSupport.setData(new BoundedMQTTProtocolManager(server, incoming, outgoing, handlers, onEventLoop, lanes), parameters);
    }

    /** The connection entry Artemis made for a channel (set by {@link BoundedMQTTProtocolManager}). */
    static final AttributeKey<ConnectionEntry> ENTRY = AttributeKey.valueOf("firehose.connection-entry");
    /** The acceptor a channel's connection came in on (set by {@link BoundedMQTTProtocolManager}). */
    static final AttributeKey<String> LISTENER = AttributeKey.valueOf("firehose.listener");
}
