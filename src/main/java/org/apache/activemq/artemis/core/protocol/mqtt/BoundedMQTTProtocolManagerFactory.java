package org.apache.activemq.artemis.core.protocol.mqtt;

import java.util.List;
import java.util.Map;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.mqtt.MqttDecoder;
import org.apache.activemq.artemis.api.core.BaseInterceptor;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.spi.core.protocol.ProtocolManager;
import org.apache.activemq.artemis.utils.uri.BeanSupport;

/**
 * Artemis' MQTT with the acceptor's {@code maximumPacketSize} enforced by the decoder for every MQTT version.
 * Artemis itself checks the size only for MQTT 5 PUBLISH packets, after buffering them whole, so an MQTT 3.1.1
 * client could make it hold 256 MiB per connection. Lives in Artemis' package because the protocol manager's
 * constructor is package-private.
 */
public class BoundedMQTTProtocolManagerFactory extends MQTTProtocolManagerFactory {

    @Override
    public ProtocolManager createProtocolManager(ActiveMQServer server, Map<String, Object> parameters,
                                                 List<BaseInterceptor> incoming, List<BaseInterceptor> outgoing) throws Exception {
        BeanSupport.stripPasswords(parameters);
        return BeanSupport.setData(new BoundedMQTTProtocolManager(server, incoming, outgoing), parameters);
    }

    public static class BoundedMQTTProtocolManager extends MQTTProtocolManager {

        BoundedMQTTProtocolManager(ActiveMQServer server, List<BaseInterceptor> incoming,
                                   List<BaseInterceptor> outgoing) throws Exception {
            super(server, incoming, outgoing);
        }

        @Override
        public void addChannelHandlers(ChannelPipeline pipeline) {
            super.addChannelHandlers(pipeline);
            if (getMaximumPacketSize() > 0) {
                // an oversized packet fails decoding as soon as its length is read, and the client is disconnected
                pipeline.replace(MqttDecoder.class, "mqtt-decoder", new MqttDecoder(getMaximumPacketSize()));
            }
        }
    }
}
