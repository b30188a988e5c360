package broker.guard;

import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.Supplier;

import broker.config.BrokerSettings;
import broker.events.EventIds;
import broker.events.EventStamp;
import broker.observe.BrokerStatistics;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.spi.core.remoting.AcceptorFactory;

/**
 * The broker's guards against hostile input and its limits, made once from the settings: the handlers every MQTT
 * connection gets right after its decoder, and the acceptors that time the handshake.
 */
public final class Guards {

    private final Refusals refusals;
    private final SubscriptionLimits subscriptionLimits;
    private final ConnectionLimit connectionLimit;
    private final MalformedInput malformedInput;
    private final FirstPacket firstPacket;
    private final ConnectCheck connectCheck;
    private final PublishCheck publishCheck;
    private final EventStamp eventStamp;
    private final ExpiryIntervals expiry;
    private final SubscribeCheck subscribeCheck;
    private final HandshakeTimeout acceptors;
    private final boolean webSocket;
    private PublisherBackPressure backPressure;

    /**
     * @param listenerOfPort the listener's name for a local port
     * @param server the running Artemis server, or null
     * @param mayPublish whether a user (null: anonymous) may publish to an MQTT topic
     * @param holder the connection that holds an MQTT client id now, if any
     * @param ids the ids given to the events the broker accepts
     */
    public Guards(BrokerSettings settings, IntFunction<String> listenerOfPort, Supplier<ActiveMQServer> server,
                  BiPredicate<String, String> mayPublish, Function<String, Channel> holder, EventIds ids) {
        refusals = new Refusals(listenerOfPort);
        subscriptionLimits = new SubscriptionLimits(settings.maxSubscriptionsPerClient(), settings.maxSubscriptions(), server);
        connectionLimit = new ConnectionLimit(settings.maxConnections(), settings.internal().name(), refusals);
        malformedInput = new MalformedInput(refusals);
        firstPacket = new FirstPacket(refusals);
        connectCheck = new ConnectCheck(refusals, mayPublish, holder);
        publishCheck = new PublishCheck(mayPublish);
        eventStamp = new EventStamp(ids);
        expiry = new ExpiryIntervals(settings.sessionExpirySeconds());
        subscribeCheck = new SubscribeCheck(subscriptionLimits);
        acceptors = new HandshakeTimeout(refusals, settings.handshakeTimeoutSeconds());
        webSocket = settings.wsPort() > 0 || settings.tlsConfigured();
    }

    /** Publishers are slowed to what the broker fans out ({@link PublisherBackPressure}); {@code mark} 0: not at all. */
    public void holdBackPublishers(int mark, Supplier<Queue[]> subscriptions, BrokerStatistics statistics) {
        backPressure = mark > 0 ? new PublisherBackPressure(mark, subscriptions, statistics) : null;
    }

    /** The MQTT listeners' acceptor factory ({@link HandshakeTimeout}). */
    public AcceptorFactory acceptors() {
        return acceptors;
    }

    /**
     * The guards' handlers of one MQTT connection, right after its decoder (which reads strings strictly,
     * {@link WellFormedStrings}), in this order: the connection limit, bytes and strings no client may send, a first packet that is not a CONNECT, the CONNECT's client id and will, expiry intervals, the SUBSCRIBE's filters, the
     * PUBLISH counter, the PUBLISHes their users may not send (answered there, {@link PublishCheck}), the event id of
     * those that go on ({@link EventStamp}), the publisher back-pressure.
     */
    public void addHandlers(ChannelPipeline pipeline, String decoder, BrokerStatistics statistics) {
        WellFormedStrings.install(pipeline);
        if (backPressure != null) {
            pipeline.addAfter(decoder, "firehose-back-pressure", backPressure.handler());
        }
        pipeline.addAfter(decoder, "firehose-event-stamp", eventStamp); // the PUBLISHes that go on to Artemis
        pipeline.addAfter(decoder, "firehose-publish-check", publishCheck);
        pipeline.addAfter(decoder, "firehose-publish-counter", statistics.publishCounter());
        pipeline.addAfter(decoder, "firehose-subscribe-check", subscribeCheck);
        pipeline.addAfter(decoder, "firehose-expiry-intervals", expiry);
        pipeline.addAfter(decoder, "firehose-connect-check", connectCheck);
        pipeline.addAfter(decoder, "firehose-first-packet", firstPacket);
        pipeline.addAfter(decoder, "firehose-malformed-input", malformedInput);
        if (pipeline.get("wsdecoder") != null) {
            pipeline.addAfter("wsdecoder", "firehose-frame-errors", malformedInput.frameErrors());
        }
        pipeline.addAfter(decoder, "firehose-connection-limit", connectionLimit.handler());
    }

    /** Called before the broker starts. */
    public void open() {
        if (webSocket) {
            WebSocketTraces.install(refusals);
        }
    }

    /** Called when the broker has started. */
    public void start(ActiveMQServer server) {
        if (backPressure != null) {
            backPressure.start(server);
        }
    }

    public void stop() {
        WebSocketTraces.uninstall(refusals); // nothing if this broker did not install it
        if (backPressure != null) {
            backPressure.stop();
        }
    }

    public SubscriptionLimits subscriptionLimits() {
        return subscriptionLimits;
    }

    /** Connections closed on {@code listener} for {@code reason} since start ({@link Refusals}). */
    public long refused(String listener, String reason) {
        return refusals.count(listener, reason);
    }

    /** Connections closed at once because the broker held {@code firehose.broker.max-connections}. */
    public long connectionsRefused() {
        return connectionLimit.refused();
    }

    /** Subscriptions refused for {@code reason} since start ({@link SubscriptionLimits}). */
    public long subscriptionsRefused(String reason) {
        return subscriptionLimits.refused(reason);
    }

    /** PUBLISHes refused for {@code reason} since start ({@link PublishCheck}). */
    public long publishesRefused(String reason) {
        return publishCheck.refused(reason);
    }

    /** Wills taken out of CONNECTs since start: their users may not publish to their topics. */
    public long willsDropped() {
        return connectCheck.willsDropped();
    }
}
