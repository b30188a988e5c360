package org.apache.activemq.artemis.core.protocol.mqtt;

import java.util.List;
import java.util.function.Consumer;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.mqtt.MqttDecoder;
import org.apache.activemq.artemis.api.core.BaseInterceptor;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyServerConnection;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.spi.core.protocol.ConnectionEntry;
import org.apache.activemq.artemis.spi.core.remoting.Acceptor;
import org.apache.activemq.artemis.spi.core.remoting.Connection;

public class BoundedMQTTProtocolManager extends MQTTProtocolManager {

    private final Consumer<ChannelPipeline> handlers;
    private final ActiveMQServer server;
    private final SessionStates states;
    private final boolean onEventLoop;
    private final ClientLanes lanes;

    BoundedMQTTProtocolManager(ActiveMQServer server, List<BaseInterceptor> incoming, List<BaseInterceptor> outgoing,
                               Consumer<ChannelPipeline> handlers, boolean onEventLoop, ClientLanes lanes) throws Exception {
        super(server, incoming, outgoing);
        this.handlers = handlers;
        this.onEventLoop = onEventLoop;
        this.lanes = lanes;
        this.server = server;
        this.states = SessionStates.adopt(getStateManager());
        if (UnstoredSubscriptions.UNSTORED == null) { // made now: a later Artemis without its fields fails the start
            throw new IllegalStateException("no state manager without subscription persistence");
        }
    }

    @Override
    public void addChannelHandlers(ChannelPipeline pipeline) {
        super.addChannelHandlers(pipeline);
        pipeline.replace(MQTTProtocolHandler.class, "mqtt-handler", new ConnectAsking(server, this, onEventLoop ? states : null, lanes));
        if (getMaximumPacketSize() > 0) {
            // an oversized packet fails decoding as soon as its length is read, and the client is disconnected
            pipeline.replace(MqttDecoder.class, "mqtt-decoder", new MqttDecoder(getMaximumPacketSize()));
        }
        pipeline.addAfter(BoundedMQTTProtocolManagerFactory.decoderName(pipeline), "firehose-keepalive", new KeepAliveAsAsked());
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
            netty.getChannel().attr(BoundedMQTTProtocolManagerFactory.ENTRY).set(entry);
            if (acceptorUsed != null) {
                netty.getChannel().attr(BoundedMQTTProtocolManagerFactory.LISTENER).set(acceptorUsed.getName());
            }
        }
        return entry;
    }
}
