package broker.guard;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnAckVariableHeader;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.util.AttributeKey;

/**
 * MQTT 5's Session Expiry Interval and Message Expiry Interval as large as clients send them (both are unsigned
 * 32-bit seconds), where Artemis 2.55 multiplies them by 1,000 in 32-bit arithmetic: above 2,147,483 s (24.8 days;
 * 999,999,999 is common in client examples) the product overflows, and the session ends at the next scan after its
 * disconnect, the message is expired as it is published. And nothing bounded the session an anonymous client may leave
 * behind (0xFFFFFFFF: never to expire). So, before Artemis reads them (a pipeline handler after the MQTT decoder):
 * <ul>
 *   <li>a CONNECT's or DISCONNECT's Session Expiry Interval above {@code firehose.broker.session-expiry} is lowered to
 *       it, and the CONNACK carries the interval the server uses, as MQTT 5 §3.2.2.3.2 provides;</li>
 *   <li>a DISCONNECT may not give a session whose CONNECT said 0 a life after the connection (MQTT 5 §3.14.2.2.2): its
 *       interval is taken as 0;</li>
 *   <li>a PUBLISH's Message Expiry Interval above 2,147,483 s is lowered to that: no subscriber's session lasts so long.</li>
 * </ul>
 * MQTT 3.x packets carry no properties and pass untouched.
 */
@ChannelHandler.Sharable
public final class ExpiryIntervals extends ChannelDuplexHandler {

    /** The longest interval, in seconds, Artemis turns into milliseconds without overflowing an int. */
    public static final long LONGEST = Integer.MAX_VALUE / 1000;
    private static final int SESSION_EXPIRY = MqttProperties.MqttPropertyType.SESSION_EXPIRY_INTERVAL.value();
    private static final int MESSAGE_EXPIRY = MqttProperties.MqttPropertyType.PUBLICATION_EXPIRY_INTERVAL.value();
    /** Per MQTT 5 connection: the Session Expiry Interval its CONNECT asked for (unsigned), before any lowering. */
    private static final AttributeKey<Long> ASKED = AttributeKey.valueOf("firehose.session-expiry-asked");

    private final long longestSession;

    /** @param longestSession seconds a session may outlive its connection (at most {@link #LONGEST}) */
    ExpiryIntervals(long longestSession) {
        if (longestSession < 0 || longestSession > LONGEST) {
            throw new IllegalArgumentException("firehose.broker.session-expiry must be between 0 and " + LONGEST
                    + " seconds (24.8 days), not " + longestSession);
        }
        this.longestSession = longestSession;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        inbound(ctx.channel(), msg);
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        ctx.write(msg instanceof MqttConnAckMessage connack ? outbound(ctx.channel(), connack) : msg, promise);
    }

    /** A packet from the client, its intervals within bounds. */
    void inbound(Channel channel, Object msg) {
        if (msg instanceof MqttPublishMessage publish) {
            lower(publish.variableHeader().properties(), MESSAGE_EXPIRY, LONGEST);
        } else if (msg instanceof MqttConnectMessage connect && connect.variableHeader().version() == 5) {
            MqttProperties properties = connect.variableHeader().properties();
            channel.attr(ASKED).set(unsigned(properties.getProperty(SESSION_EXPIRY)));
            lower(properties, SESSION_EXPIRY, longestSession);
        } else if (msg instanceof MqttMessage message && message.fixedHeader() != null
                && message.fixedHeader().messageType() == MqttMessageType.DISCONNECT
                && message.variableHeader() instanceof MqttReasonCodeAndPropertiesVariableHeader header) {
            Long asked = channel.attr(ASKED).get();
            lower(header.properties(), SESSION_EXPIRY, asked != null && asked == 0 ? 0 : longestSession);
        }
    }

    /** A packet to the client: a successful MQTT 5 CONNACK says so when the session's interval was lowered. */
    Object outbound(Channel channel, MqttConnAckMessage connack) {
        Long asked = channel.attr(ASKED).get();
        MqttConnAckVariableHeader header = connack.variableHeader();
        if (asked == null || asked <= longestSession || header.connectReturnCode().byteValue() != 0) {
            return connack;
        }
        MqttProperties properties = new MqttProperties();
        properties.add(new MqttProperties.IntegerProperty(SESSION_EXPIRY, (int) longestSession));
        for (MqttProperties.MqttProperty<?> property : header.properties().listAll()) {
            if (property.propertyId() != SESSION_EXPIRY) {
                properties.add(property);
            }
        }
        return new MqttConnAckMessage(connack.fixedHeader(),
                new MqttConnAckVariableHeader(header.connectReturnCode(), header.isSessionPresent(), properties));
    }

    /** Sets the property to {@code most} when it is there and larger (the properties are the decoder's own). */
    private static void lower(MqttProperties properties, int id, long most) {
        MqttProperties.MqttProperty<?> property = properties.getProperty(id);
        if (property != null && unsigned(property) > most) {
            properties.add(new MqttProperties.IntegerProperty(id, (int) most));
        }
    }

    private static long unsigned(MqttProperties.MqttProperty<?> property) {
        return property != null && property.value() instanceof Integer value ? Integer.toUnsignedLong(value) : 0;
    }
}
