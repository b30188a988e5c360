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
 * MQTT 3.1/3.1.1: "a Keep Alive value of zero has the effect of turning off the keep alive mechanism". Artemis
 * applies its own server keep-alive (60 s) instead, and closes such a subscriber after 90 s without a packet from
 * it, however many messages it is receiving; a client that asked for more than 60 s is cut off early the same
 * way. For 3.x clients the connection's idle limit is what they asked for: none for 0, 1.5 times the keep-alive
 * otherwise. (MQTT 5 clients are told the server's keep-alive and use it.)
 */
final class KeepAliveAsAsked extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof MqttConnectMessage connect && connect.variableHeader() != null && connect.variableHeader().version() < 5) {
            ConnectionEntry entry = ctx.channel().attr(BoundedMQTTProtocolManagerFactory.ENTRY).get();
            int keepAlive = connect.variableHeader().keepAliveTimeSeconds();
            if (entry != null) {
                entry.ttl = keepAlive == 0 ? -1 : keepAlive * MQTTUtil.KEEP_ALIVE_ADJUSTMENT;
            }
        }
        super.channelRead(ctx, msg);
    }
}
