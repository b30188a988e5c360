package broker;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiPredicate;
import java.util.function.Function;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectPayload;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttIdentifierRejectedException;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageIdAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttSubAckMessage;
import io.netty.handler.codec.mqtt.MqttSubAckPayload;
import io.netty.handler.codec.mqtt.MqttSubscribeMessage;
import io.netty.handler.codec.mqtt.MqttSubscribePayload;
import io.netty.handler.codec.mqtt.MqttTopicSubscription;
import io.netty.handler.codec.mqtt.MqttUnacceptableProtocolVersionException;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a client sends is checked before Artemis sees it (one instance for all connections, right after the MQTT
 * decoder):
 * <ul>
 *   <li>bytes that are no MQTT packet (random bytes, a broken length, a packet over the maximum size) close the
 *       connection, with one log line a minute ({@link Refusals}) where Artemis logged an ERROR and a stack trace;
 *       an unsupported protocol level or a refused client id still get Artemis' CONNACK;</li>
 *   <li>a client id holding {@code '}, or held by another user's connection, is refused with a CONNACK (see
 *       {@link #refuseClientId});</li>
 *   <li>strings must be well-formed UTF-8 without U+0000 (MQTT 3.1.1 §1.5.3, MQTT 5 §1.5.4): a topic, topic filter,
 *       client id, will topic or user name that is not closes the connection, and nothing of it is delivered. Netty's
 *       decoder has already turned each malformed byte sequence into U+FFFD, so a string holding U+FFFD is refused;</li>
 *   <li>a SUBSCRIBE filter that breaks the wildcard rules ({@code a/#/b}, {@code #/a}, {@code a+b}, empty) gets the
 *       failure code in the SUBACK (0x80; MQTT 5: 0x8F, topic filter invalid) and subscribes to nothing, where Artemis
 *       granted some (QoS 0) and logged an ERROR for the empty one; so does one over a subscription limit (MQTT 5:
 *       0x97, quota exceeded; {@link SubscriptionLimits}); the packet's other filters are subscribed as usual;</li>
 *   <li>a CONNECT's will that its user may not publish (anonymous clients may publish nothing) is taken out of the
 *       CONNECT: Artemis would refuse to send it when the connection drops, with an ERROR line each time, which let
 *       anyone fill the log by connecting with a will and dropping; the connection goes on, and one line a minute
 *       says how many wills were dropped;</li>
 *   <li>MQTT 5 expiry intervals within what Artemis and the server's limits hold ({@link ExpiryIntervals}).</li>
 * </ul>
 */
@ChannelHandler.Sharable
final class PacketCheck extends ChannelDuplexHandler {

    private static final Logger LOG = LoggerFactory.getLogger(PacketCheck.class);

    private static final AttributeKey<Integer> LEVEL = AttributeKey.valueOf("firehose.mqtt-level");
    /** The user name a connection's CONNECT gave ("": none, anonymous). */
    private static final AttributeKey<String> USER = AttributeKey.valueOf("firehose.user");
    /** Per connection: SUBSCRIBE packet id → the failure codes of its refused filters (0: not refused), for its SUBACK. */
    private static final AttributeKey<Map<Integer, int[]>> REFUSED_FILTERS = AttributeKey.valueOf("firehose.refused-filters");
    private static final AttributeKey<SubscriptionLimits.Pending> PENDING = AttributeKey.valueOf("firehose.pending-subscriptions");
    private static final int FAILURE_311 = 0x80;
    private static final int TOPIC_FILTER_INVALID_5 = 0x8F;
    private static final int QUOTA_EXCEEDED_5 = 0x97;

    private final Refusals refusals;
    private final ExpiryIntervals expiry;
    private final SubscriptionLimits limits;
    private final BiPredicate<String, String> mayPublish;
    private final Function<String, Channel> holder;
    private final LongAdder willsDropped = new LongAdder();
    private final MinuteLog willLog = new MinuteLog();
    private final FrameErrors frameErrors = new FrameErrors();

    /**
     * {@code mayPublish}: whether a user (null: anonymous) may publish to an MQTT topic; {@code holder}: the connection
     * that holds a client id now, if any.
     */
    PacketCheck(Refusals refusals, ExpiryIntervals expiry, SubscriptionLimits limits, BiPredicate<String, String> mayPublish,
                Function<String, Channel> holder) {
        this.refusals = refusals;
        this.expiry = expiry;
        this.limits = limits;
        this.mayPublish = mayPublish;
        this.holder = holder;
    }

    /** Wills taken out of CONNECTs since start: their users may not publish to their topics. */
    long willsDropped() {
        return willsDropped.sum();
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
        if (msg instanceof MqttConnectMessage connect) {
            ctx.channel().attr(LEVEL).set(connect.variableHeader().version());
            String clientId = connect.payload().clientIdentifier();
            if (clientId != null && clientId.indexOf('\'') >= 0) {
                ReferenceCountUtil.release(msg);
                refuseClientId(ctx, connect.variableHeader().version(), "a client id with a '");
                return;
            }
            String user = connect.payload().userName() == null ? "" : connect.payload().userName();
            ctx.channel().attr(USER).set(user);
            Channel other = clientId == null || clientId.isEmpty() ? null : holder.apply(clientId);
            if (other != null && other != ctx.channel() && !user.equals(other.attr(USER).get())) {
                ReferenceCountUtil.release(msg);
                refuseClientId(ctx, connect.variableHeader().version(), "the client id '" + clientId + "', which "
                        + (user.isEmpty() ? "an anonymous client" : "user '" + user + "'") + " asked for, is another user's connection's");
                return;
            }
            msg = withoutForbiddenWill(ctx, connect);
        }
        expiry.inbound(ctx.channel(), msg);
        if (msg instanceof MqttSubscribeMessage subscribe) {
            msg = withValidFilters(ctx, subscribe);
            if (msg == null) {
                return; // answered here: no filter to subscribe
            }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * A client id the broker does not take: CONNACK "identifier rejected" (MQTT 5: 0x85, client identifier not valid),
     * then the connection is closed. Two kinds:
     * <ul>
     *   <li>an id holding {@code '}: Artemis writes the client id into filter expressions between single quotes (the
     *       session record it deletes, the No Local filter), and such an id breaks them: an ERROR with a stack trace at
     *       each such SUBSCRIBE, and a persistent session that can never be cleaned, so that its client cannot connect
     *       with a clean session again. MQTT lets a server refuse ids beyond letters and digits (MQTT 3.1.1 §3.1.3.1,
     *       MQTT 5 §3.1.3.1);</li>
     *   <li>the id of a connection of another user (anonymous or a publisher account): MQTT has the newcomer take the
     *       id over and the broker close the other connection, so anyone who knew a publisher's client id could cut it
     *       off, again and again. Taking over one's own id (a client reconnecting before the broker saw its old
     *       connection go) goes on as MQTT says.</li>
     * </ul>
     */
    private void refuseClientId(ChannelHandlerContext ctx, int level, String what) {
        MqttConnectReturnCode code = level == 5
                ? MqttConnectReturnCode.CONNECTION_REFUSED_CLIENT_IDENTIFIER_NOT_VALID
                : MqttConnectReturnCode.CONNECTION_REFUSED_IDENTIFIER_REJECTED;
        String why = what + " (refused: CONNACK " + code + ")";
        refusals.refuse(ctx.channel(), Refusals.CLIENT_ID, why, MqttMessageBuilders.connAck().returnCode(code).sessionPresent(false).build());
    }

    /** The CONNECT, without its will if its user may not publish to the will's topic. */
    private MqttConnectMessage withoutForbiddenWill(ChannelHandlerContext ctx, MqttConnectMessage connect) {
        MqttConnectVariableHeader header = connect.variableHeader();
        MqttConnectPayload payload = connect.payload();
        String user = payload.userName() == null || payload.userName().isEmpty() ? null : payload.userName();
        if (!header.isWillFlag() || mayPublish.test(user, payload.willTopic())) {
            return connect;
        }
        willsDropped.increment();
        long count = willLog.happened();
        if (count > 0) {
            LOG.warn("Dropped the will of client '{}' from {}: {} may not publish to '{}'; {} wills dropped since the last such line",
                    payload.clientIdentifier(), ctx.channel().remoteAddress(), user == null ? "an anonymous client" : "user '" + user + "'",
                    payload.willTopic(), count);
        }
        return new MqttConnectMessage(connect.fixedHeader(),
                new MqttConnectVariableHeader(header.name(), header.version(), header.hasUserName(), header.hasPassword(), false, 0, false,
                        header.isCleanSession(), header.keepAliveTimeSeconds(), header.properties()),
                new MqttConnectPayload(payload.clientIdentifier(), MqttProperties.NO_PROPERTIES, null, null, payload.userName(),
                        payload.passwordInBytes()));
    }

    /**
     * The SUBSCRIBE with the filters it may subscribe only (valid, within the limits); null when it has none (its SUBACK
     * is then written here).
     */
    private MqttSubscribeMessage withValidFilters(ChannelHandlerContext ctx, MqttSubscribeMessage subscribe) {
        Integer level = ctx.channel().attr(LEVEL).get();
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
        } else if (msg instanceof MqttConnAckMessage connack) {
            msg = expiry.outbound(ctx.channel(), connack);
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
            return unsubscribe.payload().topics().stream().anyMatch(PacketCheck::malformed) ? "a topic filter" : null;
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
