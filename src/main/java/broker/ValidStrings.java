package broker;

import java.util.List;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.netty.util.ReferenceCountUtil;

/**
 * MQTT strings must be well-formed UTF-8 without U+0000 (MQTT 3.1.1 §1.5.3, MQTT 5 §1.5.4): a packet with a topic,
 * topic filter, client id, will topic or user name that is not closes its connection, and nothing of it is delivered.
 * Netty's decoder has already turned each malformed byte sequence into U+FFFD, the replacement character, so a string
 * holding U+FFFD is taken as malformed (one a client wrote as U+FFFD itself is refused too: no topic needs it).
 */
@ChannelHandler.Sharable
final class ValidStrings extends ChannelInboundHandlerAdapter {

    static final String REASON = "invalid-string";

    private final Refusals refusals;

    ValidStrings(Refusals refusals) {
        this.refusals = refusals;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        String bad = invalid(msg);
        if (bad != null) {
            ReferenceCountUtil.release(msg);
            refusals.refuse(ctx.channel(), REASON, bad + " is not well-formed UTF-8 or holds U+0000");
            return;
        }
        ctx.fireChannelRead(msg);
    }

    /** What in the packet is malformed (e.g. "the topic"), or null. */
    static String invalid(Object msg) {
        if (msg instanceof MqttPublishMessage publish) {
            return malformed(publish.variableHeader().topicName()) ? "the topic" : null;
        }
        if (msg instanceof MqttSubscribeMessage subscribe) {
            for (MqttTopicSubscription subscription : subscribe.payload().topicSubscriptions()) {
                if (malformed(subscription.topicFilter())) {
                    return "a topic filter";
                }
            }
            return null;
        }
        if (msg instanceof MqttUnsubscribeMessage unsubscribe) {
            List<String> topics = unsubscribe.payload().topics();
            return topics.stream().anyMatch(ValidStrings::malformed) ? "a topic filter" : null;
        }
        if (msg instanceof MqttConnectMessage connect) {
            if (malformed(connect.payload().clientIdentifier())) {
                return "the client id";
            }
            if (malformed(connect.payload().willTopic())) {
                return "the will topic";
            }
            return malformed(connect.payload().userName()) ? "the user name" : null;
        }
        return null;
    }

    static boolean malformed(String text) {
        return text != null && (text.indexOf('\u0000') >= 0 || text.indexOf('\uFFFD') >= 0);
    }
}
