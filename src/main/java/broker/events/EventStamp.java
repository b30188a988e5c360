package broker.events;

import java.util.ArrayList;
import java.util.List;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;

/**
 * Gives each PUBLISH the broker accepts its event id, as the MQTT 5 user property {@value #PROPERTY}, before Artemis
 * reads it: Artemis keeps user properties with the message (also one an MQTT 3.1.1 client sent, which has none of its
 * own), carries them to the other nodes and hands them to MQTT 5 subscribers only. A {@value #PROPERTY} the client sent
 * itself is dropped: the id is the broker's. The payload is passed on as it is.
 */
@ChannelHandler.Sharable
public final class EventStamp extends ChannelInboundHandlerAdapter {

    /** The user property that carries an event's id. */
    public static final String PROPERTY = "firehose-id";

    private final EventIds ids;

    public EventStamp(EventIds ids) {
        this.ids = ids;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof MqttPublishMessage publish) {
            msg = stamped(publish, ids.next());
        }
        super.channelRead(ctx, msg);
    }

    static MqttPublishMessage stamped(MqttPublishMessage publish, String id) {
        MqttPublishVariableHeader header = publish.variableHeader();
        MqttProperties properties = new MqttProperties();
        List<MqttProperties.StringPair> users = new ArrayList<>();
        for (MqttProperties.MqttProperty<?> property : header.properties().listAll()) {
            if (property instanceof MqttProperties.UserProperties own) {
                for (MqttProperties.StringPair pair : own.value()) {
                    if (!PROPERTY.equals(pair.key)) {
                        users.add(pair);
                    }
                }
            } else if (property instanceof MqttProperties.UserProperty one) {
                if (!PROPERTY.equals(one.value().key)) {
                    users.add(one.value());
                }
            } else {
                properties.add(property);
            }
        }
        users.add(new MqttProperties.StringPair(PROPERTY, id));
        properties.add(new MqttProperties.UserProperties(users));
        return new MqttPublishMessage(publish.fixedHeader(), new MqttPublishVariableHeader(header.topicName(), header.packetId(), properties),
                publish.payload());
    }
}
