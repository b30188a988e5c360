package org.apache.activemq.artemis.core.protocol.mqtt;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import org.apache.activemq.artemis.spi.core.protocol.ConnectionEntry;

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
