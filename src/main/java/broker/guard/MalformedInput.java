package broker.guard;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttIdentifierRejectedException;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttUnacceptableProtocolVersionException;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.netty.util.ReferenceCountUtil;

/**
 * Bytes and strings no MQTT client may send close the connection, before Artemis sees them, with one log line a minute
 * ({@link Refusals}) where Artemis logged an ERROR and a stack trace:
 * <ul>
 *   <li>bytes that are no MQTT packet (random bytes, a broken length, a packet over the maximum size); an unsupported
 *       protocol level or a refused client id still get Artemis' CONNACK;</li>
 *   <li>strings that are not well-formed UTF-8 (refused by the decoder, {@link WellFormedStrings}) or hold U+0000
 *       (MQTT 3.1.1 §1.5.3, MQTT 5 §1.5.4): a topic, topic filter, client id, will topic or user name, and MQTT 5
 *       properties; nothing of such a packet is delivered. U+FFFD is a character like any other;</li>
 *   <li>on a WebSocket connection, a corrupt frame.</li>
 * </ul>
 */
@ChannelHandler.Sharable
public final class MalformedInput extends ChannelInboundHandlerAdapter {

    private final Refusals refusals;
    private final FrameErrors frameErrors = new FrameErrors();

    MalformedInput(Refusals refusals) {
        this.refusals = refusals;
    }

    /**
     * For a WebSocket connection, right after Netty's frame decoder: a corrupt frame (or any other failure of the
     * connection) closes it with the same one line a minute, and failures of a connection already closed are dropped.
     * (Artemis' WebSocket handler, next in line, prints every exception's stack trace to standard output.)
     */
    ChannelHandler frameErrors() {
        return frameErrors;
    }

    @ChannelHandler.Sharable
    private final class FrameErrors extends io.netty.channel.ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof io.netty.handler.codec.CorruptedFrameException) {
                // Netty has closed the connection already (protocol violation)
                refusals.refuse(ctx.channel(), Refusals.MALFORMED_PACKET, "not a WebSocket frame (" + cause.getMessage() + ")");
            } else if (ctx.channel().isActive()) {
                refusals.refuse(ctx.channel(), Refusals.MALFORMED_PACKET, "WebSocket failure (" + cause.getMessage() + ")");
            }
            // else: e.g. a write to a connection closed meanwhile: nothing left to report or to close
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof MqttMessage message && message.decoderResult().isFailure()) {
            Throwable cause = message.decoderResult().cause();
            if (cause instanceof WellFormedStrings.IllFormed) {
                ReferenceCountUtil.release(msg);
                refusals.refuse(ctx.channel(), Refusals.INVALID_STRING, stringsOf(message) + " is not well-formed UTF-8");
                return;
            }
            if (!(cause instanceof MqttUnacceptableProtocolVersionException || cause instanceof MqttIdentifierRejectedException)) {
                ReferenceCountUtil.release(msg);
                refusals.refuse(ctx.channel(), Refusals.MALFORMED_PACKET, "not an MQTT packet (" + cause.getMessage() + ")");
                return;
            }
        }
        String bad = invalid(msg);
        if (bad != null) {
            ReferenceCountUtil.release(msg);
            refusals.refuse(ctx.channel(), Refusals.INVALID_STRING, bad + " is not well-formed UTF-8 or holds U+0000");
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
            return unsubscribe.payload().topics().stream().anyMatch(MalformedInput::malformed) ? "a topic filter" : null;
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

    /** A string that holds U+0000 (ill-formed UTF-8 never gets this far: {@link WellFormedStrings}). */
    static boolean malformed(String text) {
        return text != null && text.indexOf('\u0000') >= 0;
    }

    /** Which strings of a packet the decoder could have failed on. */
    private static String stringsOf(MqttMessage message) {
        if (message.fixedHeader() == null) {
            return "a string";
        }
        return switch (message.fixedHeader().messageType()) {
            case PUBLISH -> "the topic (or a property) of a PUBLISH";
            case SUBSCRIBE, UNSUBSCRIBE -> "a topic filter (or a property)";
            case CONNECT -> "the client id, will topic or user name (or a property) of a CONNECT";
            default -> "a string of a " + message.fixedHeader().messageType();
        };
    }
}
