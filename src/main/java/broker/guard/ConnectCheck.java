package broker.guard;

import broker.observe.MinuteLog;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiPredicate;
import java.util.function.Function;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttConnectPayload;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttConnectVariableHeader;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CONNECT is checked before Artemis sees it:
 * <ul>
 *   <li>a client id holding {@code '}, or held by another user's connection, is refused with a CONNACK (see
 *       {@link #refuseClientId});</li>
 *   <li>a will that its user may not publish (anonymous clients may publish nothing) is taken out of the CONNECT:
 *       Artemis would refuse to send it when the connection drops, with an ERROR line each time, which let anyone fill
 *       the log by connecting with a will and dropping; the connection goes on, and one line a minute says how many
 *       wills were dropped.</li>
 * </ul>
 * It also notes the connection's MQTT level and user for the checks after it.
 */
@ChannelHandler.Sharable
public final class ConnectCheck extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectCheck.class);

    /** The MQTT level a connection's CONNECT gave (3, 4 or 5). */
    static final AttributeKey<Integer> LEVEL = AttributeKey.valueOf("firehose.mqtt-level");
    /** The user name a connection's CONNECT gave ("": none, anonymous). */
    static final AttributeKey<String> USER = AttributeKey.valueOf("firehose.user");

    private final Refusals refusals;
    private final BiPredicate<String, String> mayPublish;
    private final Function<String, Channel> holder;
    private final LongAdder willsDropped = new LongAdder();
    private final MinuteLog willLog = new MinuteLog();

    /**
     * {@code mayPublish}: whether a user (null: anonymous) may publish to an MQTT topic; {@code holder}: the connection
     * that holds a client id now, if any.
     */
    ConnectCheck(Refusals refusals, BiPredicate<String, String> mayPublish, Function<String, Channel> holder) {
        this.refusals = refusals;
        this.mayPublish = mayPublish;
        this.holder = holder;
    }

    /** Wills taken out of CONNECTs since start: their users may not publish to their topics. */
    long willsDropped() {
        return willsDropped.sum();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
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
}
