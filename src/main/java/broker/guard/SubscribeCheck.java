package broker.guard;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttSubAckPayload;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttSubscribePayload;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.util.AttributeKey;

/**
 * A SUBSCRIBE's filters are checked before Artemis sees them: a filter that breaks the wildcard rules ({@code a/#/b},
 * {@code #/a}, {@code a+b}, empty) gets the failure code in the SUBACK (0x80; MQTT 5: 0x8F, topic filter invalid) and
 * subscribes to nothing, where Artemis granted some (QoS 0) and logged an ERROR for the empty one; so does one over a
 * subscription limit (MQTT 5: 0x97, quota exceeded; {@link SubscriptionLimits}); the packet's other filters are
 * subscribed as usual.
 */
@ChannelHandler.Sharable
public final class SubscribeCheck extends ChannelDuplexHandler {

    /** Per connection: SUBSCRIBE packet id → the failure codes of its refused filters (0: not refused), for its SUBACK. */
    private static final AttributeKey<Map<Integer, int[]>> REFUSED_FILTERS = AttributeKey.valueOf("firehose.refused-filters");
    private static final AttributeKey<SubscriptionLimits.Pending> PENDING = AttributeKey.valueOf("firehose.pending-subscriptions");
    private static final int FAILURE_311 = 0x80;
    private static final int TOPIC_FILTER_INVALID_5 = 0x8F;
    private static final int QUOTA_EXCEEDED_5 = 0x97;

    private final SubscriptionLimits limits;

    SubscribeCheck(SubscriptionLimits limits) {
        this.limits = limits;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof MqttSubscribeMessage subscribe) {
            msg = withValidFilters(ctx, subscribe);
            if (msg == null) {
                return; // answered here: no filter to subscribe
            }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * The SUBSCRIBE with the filters it may subscribe only (valid, within the limits); null when it has none (its SUBACK
     * is then written here).
     */
    private MqttSubscribeMessage withValidFilters(ChannelHandlerContext ctx, MqttSubscribeMessage subscribe) {
        Integer level = ctx.channel().attr(ConnectCheck.LEVEL).get();
        boolean v5 = level != null && level == 5;
        int id = subscribe.variableHeader().messageId();
        List<MqttTopicSubscription> all = subscribe.payload().topicSubscriptions();
        int[] refused = new int[all.size()];
        List<String> validFilters = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            if (validFilter(all.get(i).topicFilter())) {
                validFilters.add(all.get(i).topicFilter());
            } else {
                refused[i] = v5 ? TOPIC_FILTER_INVALID_5 : FAILURE_311;
            }
        }
        SubscriptionLimits.Pending inFlight = ctx.channel().attr(PENDING).get();
        if (inFlight == null) {
            inFlight = new SubscriptionLimits.Pending();
            ctx.channel().attr(PENDING).set(inFlight);
        }
        boolean[] over = limits.screen(ctx.channel(), inFlight, id, validFilters);
        List<MqttTopicSubscription> valid = new ArrayList<>();
        for (int i = 0, v = 0; i < all.size(); i++) {
            if (refused[i] == 0 && over[v++]) {
                refused[i] = v5 ? QUOTA_EXCEEDED_5 : FAILURE_311;
            }
            if (refused[i] == 0) {
                valid.add(all.get(i));
            }
        }
        if (valid.size() == all.size()) {
            return subscribe;
        }
        if (valid.isEmpty()) {
            ctx.writeAndFlush(subAck(id, merge(refused, List.of())));
            return null;
        }
        ctx.channel().attr(REFUSED_FILTERS).setIfAbsent(new ConcurrentHashMap<>());
        ctx.channel().attr(REFUSED_FILTERS).get().put(id, refused);
        return new MqttSubscribeMessage(subscribe.fixedHeader(), subscribe.idAndPropertiesVariableHeader(), new MqttSubscribePayload(valid));
    }

    /**
     * The SUBACK of a SUBSCRIBE whose refused filters were left out: their failure codes put back in their places. What
     * the SUBSCRIBE let through is no longer in flight for the limits.
     */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof MqttSubAckMessage ack) {
            int id = ack.variableHeader().messageId();
            SubscriptionLimits.Pending inFlight = ctx.channel().attr(PENDING).get();
            if (inFlight != null) {
                limits.answered(inFlight, id);
            }
            Map<Integer, int[]> pending = ctx.channel().attr(REFUSED_FILTERS).get();
            int[] refused = pending == null ? null : pending.remove(id);
            if (refused != null) {
                msg = subAck(id, merge(refused, ack.payload().reasonCodes()));
            }
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        SubscriptionLimits.Pending inFlight = ctx.channel().attr(PENDING).get();
        if (inFlight != null) {
            limits.closed(inFlight);
        }
        super.channelInactive(ctx);
    }

    private static List<Integer> merge(int[] refused, List<Integer> granted) {
        List<Integer> codes = new ArrayList<>();
        int next = 0;
        for (int code : refused) {
            codes.add(code != 0 ? code : granted.get(next++));
        }
        return codes;
    }

    private static MqttSubAckMessage subAck(int packetId, List<Integer> codes) {
        return new MqttSubAckMessage(new MqttFixedHeader(MqttMessageType.SUBACK, false, MqttQoS.AT_MOST_ONCE, false, 0),
                new MqttMessageIdAndPropertiesVariableHeader(packetId, MqttProperties.NO_PROPERTIES), new MqttSubAckPayload(codes));
    }

    /**
     * MQTT's rules for a topic filter: not empty; {@code #} only as the whole last level; {@code +} only as a whole
     * level. A shared subscription ({@code $share/group/filter}) is checked on its filter, and its group must have
     * neither wildcard.
     */
    static boolean validFilter(String filter) {
        String checked = filter;
        if (filter.startsWith("$share/")) {
            int slash = filter.indexOf('/', 7);
            String group = slash < 0 ? "" : filter.substring(7, slash);
            if (group.isEmpty() || group.contains("#") || group.contains("+")) {
                return false;
            }
            checked = filter.substring(slash + 1);
        }
        if (checked.isEmpty()) {
            return false;
        }
        String[] levels = checked.split("/", -1);
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            if (level.contains("#") && (!level.equals("#") || i != levels.length - 1)) {
                return false;
            }
            if (level.contains("+") && !level.equals("+")) {
                return false;
            }
        }
        return true;
    }
}
