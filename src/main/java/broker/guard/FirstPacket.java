package broker.guard;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.util.ReferenceCountUtil;

/**
 * "After a Network Connection is established by a Client to a Server, the first Packet sent from the Client to the
 * Server MUST be a CONNECT Packet" (MQTT 3.1.1 §3.1 [MQTT-3.1.0-1], MQTT 5 §3.1 [MQTT-3.1.0-1]): a connection whose
 * first packet is anything else is closed, counted as {@link Refusals#MALFORMED_PACKET}, one log line a minute. Artemis
 * handled such a packet as if the client had connected: a SUBSCRIBE or PUBLISH failed on the missing client id with an
 * ERROR and a stack trace (AMQ834002, {@code NullPointerException: MQTT client ID must not be null}) each time, and a
 * PINGREQ was answered and the connection kept. Runs after {@link MalformedInput} (bytes that are no packet are counted
 * there) and leaves the pipeline at the CONNECT: nothing is checked after it.
 */
@ChannelHandler.Sharable
final class FirstPacket extends ChannelInboundHandlerAdapter {

    private final Refusals refusals;

    FirstPacket(Refusals refusals) {
        this.refusals = refusals;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof MqttConnectMessage) {
            ctx.pipeline().remove(this);
        } else if (!ctx.channel().isActive()) {
            ReferenceCountUtil.release(msg); // decoded from the same read as a packet refused here: closed already
            return;
        } else if (msg instanceof MqttMessage message && message.decoderResult().isSuccess()) {
            String type = message.fixedHeader() == null ? "packet" : message.fixedHeader().messageType().name();
            ReferenceCountUtil.release(msg);
            refusals.refuse(ctx.channel(), Refusals.MALFORMED_PACKET, "the first packet was a " + type + ", not a CONNECT");
            return;
        }
        ctx.fireChannelRead(msg);
    }
}
