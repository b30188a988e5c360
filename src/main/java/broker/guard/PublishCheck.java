package broker.guard;

import broker.observe.MinuteLog;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiPredicate;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageIdVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPubReplyMessageVariableHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PUBLISH its user may not send (anonymous clients may send none; an account only inside its topic filters) is
 * refused here, before Artemis sees it, and answered as MQTT clients expect: Artemis refused it by closing the
 * connection, and a client publishing at QoS 1 or 2 (python paho's {@code publish.single}, Ansible's mqtt module)
 * reconnected and sent it again for ever.
 * <ul>
 *   <li>MQTT 5: PUBACK (QoS 1) or PUBREC (QoS 2) with reason code 0x87, not authorized;</li>
 *   <li>MQTT 3.1.1 and 3.1: the usual PUBACK or PUBREC, as MQTT 3.1.1 §3.3.5 allows and Mosquitto does;</li>
 *   <li>QoS 0: nothing; the connection stays open at every level.</li>
 * </ul>
 * The PUBREL of a refused QoS 2 packet is answered here with PUBCOMP (Artemis does not know its packet id). A refused
 * PUBLISH is delivered to no one. Refusals are counted by reason, with at most one log line a minute (the latest
 * one's user, topic and client address, and how many since the last line). A client that does not read its
 * acknowledgements is not read from while they wait to be written, so that refusals cannot fill a queue.
 */
@ChannelHandler.Sharable
public final class PublishCheck extends ChannelInboundHandlerAdapter {

    /** An anonymous client's PUBLISH. */
    public static final String ANONYMOUS = "anonymous";
    /** An account's PUBLISH to a topic outside its filters. */
    public static final String OUTSIDE_ACCOUNT = "outside-account";
    /** An account's PUBLISH to a topic starting with {@code $} its filters do not name. */
    public static final String SYS_TOPIC = "sys-topic";
    /** Every reason a PUBLISH may be refused for, as counted. */
    public static final List<String> REASONS = List.of(ANONYMOUS, OUTSIDE_ACCOUNT, SYS_TOPIC);

    /** MQTT 5 reason code "not authorized". */
    static final byte NOT_AUTHORIZED = (byte) 0x87;
    /** Topic aliases set by refused publishes one connection may hold; over it the connection is closed. */
    private static final int MAX_REFUSED_ALIASES = 1024;

    private static final Logger LOG = LoggerFactory.getLogger(PublishCheck.class);
    private static final AttributeKey<State> STATE = AttributeKey.valueOf("firehose.publish-check");

    private final BiPredicate<String, String> mayPublish;
    private final Map<String, LongAdder> refused = new ConcurrentHashMap<>();
    private final MinuteLog log = new MinuteLog();

    /** Per connection, on its event loop only. */
    private static final class State {
        /** Packet ids of refused QoS 2 publishes whose PUBREL is still to come. */
        final BitSet refusedQos2 = new BitSet(); // grows to the highest id refused: a few bytes for most clients
        /** MQTT 5 topic aliases a refused publish set, to the topic it set them to. */
        final Map<Integer, String> refusedAliases = new HashMap<>();
        /** Reading was stopped here until the acknowledgements are written. */
        boolean paused;
    }

    /** {@code mayPublish}: whether a user (null: anonymous) may publish to an MQTT topic. */
    PublishCheck(BiPredicate<String, String> mayPublish) {
        this.mayPublish = mayPublish;
        REASONS.forEach(reason -> refused.put(reason, new LongAdder()));
    }

    /** Publishes refused for {@code reason} since start. */
    long refused(String reason) {
        LongAdder count = refused.get(reason);
        return count == null ? 0 : count.sum();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof MqttPublishMessage publish) {
            if (!allowed(ctx, publish)) {
                return;
            }
        } else if (msg instanceof MqttMessage mqtt && mqtt.fixedHeader() != null
                && mqtt.fixedHeader().messageType() == MqttMessageType.PUBREL
                && mqtt.variableHeader() instanceof MqttMessageIdVariableHeader id) {
            State state = ctx.channel().attr(STATE).get();
            if (state != null && state.refusedQos2.get(id.messageId())) {
                state.refusedQos2.clear(id.messageId());
                ReferenceCountUtil.release(msg);
                answer(ctx, reply(MqttMessageType.PUBCOMP, id.messageId(), (byte) 0));
                return;
            }
        }
        super.channelRead(ctx, msg);
    }

    /** Whether the PUBLISH goes on to Artemis; when not, it is answered and released here. */
    private boolean allowed(ChannelHandlerContext ctx, MqttPublishMessage publish) {
        String topic = publish.variableHeader().topicName();
        Integer alias = alias(publish);
        State state = ctx.channel().attr(STATE).get();
        if ((topic == null || topic.isEmpty()) && alias != null) {
            topic = state == null ? null : state.refusedAliases.get(alias);
            if (topic == null) {
                return true; // an alias an allowed publish set (or none: Artemis answers that)
            }
        }
        String user = ctx.channel().attr(ConnectCheck.USER).get();
        if (user != null && user.isEmpty()) {
            user = null;
        }
        int packetId = publish.variableHeader().packetId();
        MqttQoS qos = publish.fixedHeader().qosLevel();
        if (topic != null && mayPublish.test(user, topic)) {
            if (state != null) {
                if (alias != null) {
                    state.refusedAliases.remove(alias);
                }
                if (qos == MqttQoS.EXACTLY_ONCE) {
                    state.refusedQos2.clear(packetId); // the id is Artemis' now
                }
            }
            return true;
        }
        ReferenceCountUtil.release(publish);
        if (state == null) {
            state = new State();
            ctx.channel().attr(STATE).set(state);
        }
        if (alias != null && !publish.variableHeader().topicName().isEmpty()) {
            if (!state.refusedAliases.containsKey(alias) && state.refusedAliases.size() >= MAX_REFUSED_ALIASES) {
                ctx.close();
                return false;
            }
            state.refusedAliases.put(alias, topic);
        }
        String reason = user == null ? ANONYMOUS : topic.startsWith("$") ? SYS_TOPIC : OUTSIDE_ACCOUNT;
        refused.get(reason).increment();
        Integer level = ctx.channel().attr(ConnectCheck.LEVEL).get();
        boolean v5 = level != null && level == 5;
        byte code = v5 ? NOT_AUTHORIZED : 0;
        String answer;
        switch (qos) {
            case AT_LEAST_ONCE -> {
                answer(ctx, reply(MqttMessageType.PUBACK, packetId, code));
                answer = v5 ? "PUBACK 0x87" : "PUBACK";
            }
            case EXACTLY_ONCE -> {
                state.refusedQos2.set(packetId);
                answer(ctx, reply(MqttMessageType.PUBREC, packetId, code));
                answer = v5 ? "PUBREC 0x87" : "PUBREC";
            }
            default -> answer = "QoS 0, no answer";
        }
        long count = log.happened();
        if (count > 0) {
            LOG.warn("Refused a publish by {} to '{}' from {} ({}; answered {}): not its to publish; {} publishes refused since the last such line",
                    user == null ? "an anonymous client" : "user '" + user + "'", topic, ctx.channel().remoteAddress(), reason, answer, count);
        }
        return false;
    }

    private static Integer alias(MqttPublishMessage publish) {
        MqttProperties.MqttProperty<?> property = publish.variableHeader().properties()
                .getProperty(MqttProperties.MqttPropertyType.TOPIC_ALIAS.value());
        return property == null ? null : (Integer) property.value();
    }

    private static MqttMessage reply(MqttMessageType type, int packetId, byte reasonCode) {
        return new MqttMessage(new MqttFixedHeader(type, false, MqttQoS.AT_MOST_ONCE, false, 0),
                new MqttPubReplyMessageVariableHeader(packetId, reasonCode, MqttProperties.NO_PROPERTIES));
    }

    /** Writes an acknowledgement; stops reading while the client does not take them, so that none pile up. */
    private static void answer(ChannelHandlerContext ctx, MqttMessage reply) {
        ctx.writeAndFlush(reply);
        if (!ctx.channel().isWritable() && ctx.channel().config().isAutoRead()) {
            ctx.channel().attr(STATE).get().paused = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        State state = ctx.channel().attr(STATE).get();
        if (state != null && state.paused && ctx.channel().isWritable()) {
            state.paused = false;
            ctx.channel().config().setAutoRead(true);
        }
        super.channelWritabilityChanged(ctx);
    }
}
