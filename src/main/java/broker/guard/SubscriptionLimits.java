package broker.guard;

import broker.observe.MinuteLog;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import io.netty.channel.Channel;
import org.apache.activemq.artemis.api.core.ActiveMQSecurityException;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTUtil;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many MQTT subscriptions one client, and all clients together, may hold. Each is a queue of its own in Artemis
 * (10–18 KiB of heap, and a topic address of its own for a new topic): without a bound, one anonymous client
 * subscribing to 40,000 topics (400 SUBSCRIBE packets) filled the default heap and stopped the broker for everyone,
 * whatever {@code max-connections} says.
 * <p>
 * A SUBSCRIBE's filters are screened before Artemis sees them ({@link SubscribeCheck}): one that would be a new
 * subscription over a limit is left out and gets its failure code in the SUBACK (MQTT 3.1.1: 0x80; MQTT 5: 0x97, quota
 * exceeded); the client stays connected. Left out before Artemis, it makes no topic address either (a refused
 * subscription that had made one left it to Artemis' reaper, which takes about half a millisecond of CPU for each:
 * 50,000 of them in 4 s from one client cost the broker 25 s of CPU a minute later). What a connection let through is
 * counted until its SUBACK, so pipelined SUBSCRIBEs cannot overtake the count. Queues are counted as they are made and
 * go, so a persistent session's subscriptions count while it is away, and after a restart; the queue factory refuses
 * (throws) past a limit too, for two connections of one client at once.
 * <p>
 * A client is the client id Artemis knows the connection by, or the share name of an MQTT 5 shared subscription.
 * Refusals are counted per reason, with one log line a minute.
 */
public final class SubscriptionLimits {

    /** Over {@code firehose.broker.max-subscriptions-per-client}. */
    public static final String PER_CLIENT = "per-client";
    /** Over {@code firehose.broker.max-subscriptions}. */
    public static final String TOTAL = "total";
    /** Every reason a subscription may be refused for, as counted. */
    public static final List<String> REASONS = List.of(PER_CLIENT, TOTAL);

    private static final Logger LOG = LoggerFactory.getLogger(SubscriptionLimits.class);

    private final int perClient;
    private final int total;
    private final Supplier<ActiveMQServer> server;
    private final Map<String, AtomicInteger> byClient = new ConcurrentHashMap<>();
    private final AtomicInteger all = new AtomicInteger();
    /** New subscriptions let through to Artemis and not yet answered, all connections together. */
    private final AtomicInteger inFlight = new AtomicInteger();
    private final LongAdder refusedPerClient = new LongAdder();
    private final LongAdder refusedTotal = new LongAdder();
    private final MinuteLog log = new MinuteLog();

    /** {@code perClient}, {@code total}: the limits, 0 for none; {@code server}: the running broker. */
    public SubscriptionLimits(int perClient, int total, Supplier<ActiveMQServer> server) {
        this.perClient = perClient;
        this.total = total;
        this.server = server;
    }

    /** One connection's new subscriptions let through and not yet answered (used on its event loop only). */
    static final class Pending {
        private final Map<Integer, Integer> byPacket = new HashMap<>();
        private int count;
    }

    /**
     * Which of a SUBSCRIBE's {@code filters} go over a limit ({@code true}); the others are counted in {@code pending}
     * under {@code packetId} until {@link #answered}.
     */
    boolean[] screen(Channel channel, Pending pending, int packetId, List<String> filters) {
        boolean[] over = new boolean[filters.size()];
        ActiveMQServer broker = server.get();
        if (perClient == 0 && total == 0 || broker == null) {
            return over;
        }
        RemotingConnection connection = broker.getRemotingService().getConnection(channel.id());
        String clientId = connection == null ? null : connection.getClientID();
        int let = 0;
        for (int i = 0; i < filters.size(); i++) {
            String filter = filters.get(i);
            String client = MQTTUtil.isSharedSubscription(filter) ? MQTTUtil.decomposeSharedSubscriptionTopicFilter(filter).getA() : clientId;
            boolean overTotal = total > 0 && all.get() + inFlight.get() >= total;
            boolean overClient = perClient > 0 && client != null && held(client) + pending.count + let >= perClient;
            if (!overTotal && !overClient) {
                let++;
            } else if (!subscribed(broker, filter, clientId)) {
                over[i] = true;
                refused(overTotal ? refusedTotal : refusedPerClient, client, filter, overTotal
                        ? "the broker holds its limit of " + total + " subscriptions (firehose.broker.max-subscriptions)"
                        : "it holds its limit of " + perClient + " subscriptions (firehose.broker.max-subscriptions-per-client)");
            } // else: one it holds, whose options change: nothing new to count
        }
        if (let > 0) {
            pending.byPacket.merge(packetId, let, Integer::sum);
            pending.count += let;
            inFlight.addAndGet(let);
        }
        return over;
    }

    /** The SUBACK of {@code packetId} is on its way: what it let through is made (or refused) by now. */
    void answered(Pending pending, int packetId) {
        Integer let = pending.byPacket.remove(packetId);
        if (let != null) {
            pending.count -= let;
            inFlight.addAndGet(-let);
        }
    }

    /** The connection is gone: nothing of it is in flight any more. */
    void closed(Pending pending) {
        inFlight.addAndGet(-pending.count);
        pending.count = 0;
        pending.byPacket.clear();
    }

    /** Refuses (throws) a subscription queue about to be made past a limit (two connections of one client at once). */
    public void admit(SimpleString queue, SimpleString address) throws ActiveMQSecurityException {
        String client = client(queue, address);
        if (client == null) {
            return;
        }
        if (total > 0 && all.get() >= total) {
            refused(refusedTotal, client, address.toString(), "the broker holds its limit of " + total + " subscriptions");
            throw new ActiveMQSecurityException("subscription refused: over firehose.broker.max-subscriptions");
        }
        if (perClient > 0 && held(client) >= perClient) {
            refused(refusedPerClient, client, address.toString(), "it holds its limit of " + perClient + " subscriptions");
            throw new ActiveMQSecurityException("subscription refused: over firehose.broker.max-subscriptions-per-client");
        }
    }

    /** A subscription queue made, or found in the journal. */
    public void added(SimpleString queue, SimpleString address) {
        String client = client(queue, address);
        if (client != null) {
            byClient.computeIfAbsent(client, c -> new AtomicInteger()).incrementAndGet();
            all.incrementAndGet();
        }
    }

    /** A subscription queue gone. */
    public void removed(SimpleString queue, SimpleString address) {
        String client = client(queue, address);
        if (client != null) {
            byClient.computeIfPresent(client, (c, held) -> held.decrementAndGet() <= 0 ? null : held);
            all.decrementAndGet();
        }
    }

    /** The broker stopped: nothing is held. */
    public void clear() {
        byClient.clear();
        all.set(0);
    }

    /** Subscriptions refused for {@code reason} ({@link #PER_CLIENT}, {@link #TOTAL}) since start. */
    long refused(String reason) {
        return (PER_CLIENT.equals(reason) ? refusedPerClient : refusedTotal).sum();
    }

    /** Subscriptions held now by {@code client}. */
    int held(String client) {
        AtomicInteger held = byClient.get(client);
        return held == null ? 0 : held.get();
    }

    /** Whether the client already has this subscription (a SUBSCRIBE repeating it changes its options only). */
    private static boolean subscribed(ActiveMQServer broker, String filter, String clientId) {
        if (clientId == null) {
            return false;
        }
        String queue = MQTTUtil.getCoreQueueFromMqttTopic(filter, clientId, broker.getConfiguration().getWildcardConfiguration());
        return broker.locateQueue(SimpleString.of(queue)) != null;
    }

    private void refused(LongAdder counter, String client, String what, String why) {
        counter.increment();
        long count = log.happened();
        if (count > 0) {
            LOG.warn("Refused a subscription of client '{}' to {}: {}; {} refused since the last such line", client, what, why, count);
        }
    }

    /** The client of a subscription queue (its name is the client id, a dot, its address); null for any other queue. */
    private static String client(SimpleString queue, SimpleString address) {
        String name = queue.toString();
        int clientLength = name.length() - address.length() - 1;
        if (clientLength <= 0 || name.charAt(clientLength) != '.' || !name.endsWith(address.toString())) {
            return null;
        }
        return name.substring(0, clientLength);
    }
}
