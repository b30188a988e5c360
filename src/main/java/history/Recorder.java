package history;

import java.io.ByteArrayOutputStream;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

import broker.EmbeddedBroker;
import broker.config.Account;
import broker.events.EventIds;
import broker.events.EventStamp;
import org.apache.activemq.artemis.api.core.ActiveMQException;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.api.core.client.ActiveMQClient;
import org.apache.activemq.artemis.api.core.client.ClientConsumer;
import org.apache.activemq.artemis.api.core.client.ClientMessage;
import org.apache.activemq.artemis.api.core.client.ClientSession;
import org.apache.activemq.artemis.api.core.client.ClientSessionFactory;
import org.apache.activemq.artemis.api.core.client.ServerLocator;
import org.apache.activemq.artemis.core.config.WildcardConfiguration;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTUtil;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.reader.MessageUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records every event on the bus: a durable subscription of the broker's own ({@value #QUEUE}{@code .<node id>}: each
 * node's its own name, for Artemis shares same-named subscriptions of a cluster's nodes among them; bound to every topic
 * but the {@code $} ones), read in-VM and written to the store in batches; a batch is acknowledged to the broker only
 * once the store has committed it. A QoS 1 or 2 event the broker acknowledged is therefore in its journal until it is
 * recorded, through a crash of the node too; the store down, events wait in the subscription (at most
 * {@code backlog}, the oldest then dropped and counted) and are written when it is back. Nothing of this runs on the
 * broker's delivery path: the subscription is one more subscriber, read by its own thread.
 */
final class Recorder {

    private static final Logger LOG = LoggerFactory.getLogger(Recorder.class);

    /** The broker's durable subscription that holds the events not recorded yet. */
    static final String QUEUE = "firehose.history";
    /** Every topic the bus carries: not the {@code $} ones (Artemis' own and {@code $SYS}), nor Artemis' addresses. */
    static final String FILTER = "AMQAddress NOT LIKE '$%' AND AMQAddress NOT LIKE 'activemq.%' AND AMQAddress NOT IN ('DLQ', 'ExpiryQueue')";
    /** Events one write holds at most. */
    static final int BATCH = 500;
    private static final String ID_PROPERTY_END = "." + EventStamp.PROPERTY;

    private final EmbeddedBroker broker;
    private final HistoryStore store;
    private final int backlog;
    private final WildcardConfiguration wildcards;
    private final LongAdder written = new LongAdder();
    private final LongAdder unreadable = new LongAdder();
    /** Why the reading thread ended while it should run, or null. */
    private volatile String stopped;
    private volatile boolean running;
    private volatile Thread thread;
    /** Why the batch being written could not be, or null. */
    private volatile String failure;
    /** When the oldest event of the batch being written was received (ms), or 0 when none is. */
    private volatile long pendingSince;
    private volatile long lastLagMillis;
    private volatile ServerLocator locator;
    private volatile ClientSessionFactory factory;
    private volatile ClientSession session;
    private volatile ClientConsumer consumer;
    /** This node's subscription: its name holds Artemis' node id, kept in the journal across restarts. */
    private volatile String queueName;

    /** Told each batch once it is committed, on the recorder's thread: must not block. */
    private final Consumer<List<Event>> recorded;

    Recorder(EmbeddedBroker broker, HistoryStore store, int backlog, Consumer<List<Event>> recorded) {
        this.recorded = recorded;
        this.broker = broker;
        this.store = store;
        this.backlog = backlog;
        this.wildcards = broker.server().getConfiguration().getWildcardConfiguration();
    }

    /** Subscribes (the first time, the subscription is made) and starts reading. */
    void start() throws Exception {
        connect();
        running = true;
        thread = new Thread(this::run, "firehose-history-recorder");
        thread.setDaemon(true);
        thread.start();
    }

    private void connect() throws Exception {
        Account internal = broker.internalAccount();
        locator = ActiveMQClient.createServerLocatorWithoutHA(broker.inVmConnector());
        locator.setConsumerWindowSize(4 * 1024 * 1024);
        locator.setAckBatchSize(1024 * 1024);
        // every event whole in one delivery (in-VM: no copy over a wire), not in chunks as Artemis' large messages
        locator.setMinLargeMessageSize(Integer.MAX_VALUE);
        factory = locator.createSessionFactory();
        session = factory.createSession(internal.name(), internal.password(), false, true, false, false, 0);
        queueName = QUEUE + "." + broker.server().getNodeID();
        if (!session.queueQuery(SimpleString.of(queueName)).isExists()) {
            session.createQueue(QueueConfiguration.of(queueName).setAddress("#").setRoutingType(RoutingType.MULTICAST)
                    .setDurable(true).setFilterString(FILTER).setRingSize((long) backlog));
        }
        Queue queue = queue();
        if (queue != null && queue.getRingSize() != backlog) {
            queue.setRingSize(backlog); // the setting changed since the subscription was made
        }
        consumer = session.createConsumer(queueName);
        session.start();
    }

    /** Stops reading; events not yet written stay in the subscription, for the next start. */
    void stop() throws InterruptedException {
        running = false;
        Thread reading = thread;
        if (reading != null) {
            reading.interrupt();
            reading.join(TimeUnit.SECONDS.toMillis(15));
        }
        disconnect();
    }

    /** Events read but not acknowledged go back to the subscription. */
    private void disconnect() {
        try {
            if (session != null) {
                session.close();
            }
        } catch (ActiveMQException | RuntimeException e) {
            LOG.debug("History recorder session: {}", e.toString());
        }
        if (factory != null) {
            factory.close();
        }
        if (locator != null) {
            locator.close();
        }
        session = null;
        factory = null;
        locator = null;
    }

    /**
     * Reads and records until stopped. When the broker goes (it was stopped and started again within the application),
     * subscribes again once it is back (after 1 s, then up to every 10 s).
     */
    private void run() {
        long delay = 1_000;
        while (running) {
            try {
                if (session == null) {
                    connect();
                    LOG.info("History recorder subscribed again");
                    stopped = null;
                    delay = 1_000;
                }
                read();
            } catch (Exception e) {
                if (!running) {
                    return;
                }
                if (stopped == null) {
                    LOG.warn("History recorder lost the broker, subscribing again: {}", e.toString());
                }
                stopped = "the recorder lost the broker's history subscription: " + e.getMessage();
                disconnect();
                try {
                    Thread.sleep(delay); // back-off while the broker is away, not a synchronisation
                } catch (InterruptedException stopping) {
                    return;
                }
                delay = Math.min(delay * 2, 10_000);
            }
        }
    }

    private void read() throws ActiveMQException {
        List<ClientMessage> messages = new ArrayList<>(BATCH);
        while (running) {
            ClientMessage first = consumer.receive(250);
            if (first == null) {
                continue;
            }
            messages.add(first);
            ClientMessage more;
            while (messages.size() < BATCH && (more = consumer.receiveImmediate()) != null) {
                messages.add(more);
            }
            List<Event> events = new ArrayList<>(messages.size());
            for (ClientMessage message : messages) {
                Event event = event(message);
                if (event != null) {
                    events.add(event);
                }
            }
            if (!write(events)) {
                return; // stopping: the batch stays in the subscription
            }
            for (ClientMessage message : messages) {
                message.acknowledge();
            }
            session.commit();
            written.add(events.size());
            recorded.accept(events);
            messages.clear();
        }
    }

    /** Writes a batch, trying again (1 s, then up to every 10 s) while the store is away; false when stopped first. */
    private boolean write(List<Event> events) {
        long oldest = events.stream().mapToLong(Event::received).min().orElse(System.currentTimeMillis());
        pendingSince = oldest;
        long delay = 1_000;
        while (running) {
            try {
                store.insert(events);
                lastLagMillis = Math.max(0, System.currentTimeMillis() - oldest);
                pendingSince = 0;
                if (failure != null) {
                    LOG.info("History store back: recording");
                    failure = null;
                }
                return true;
            } catch (SQLException | RuntimeException e) {
                String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                if (failure == null) {
                    LOG.warn("History store unavailable, events wait in the broker (up to {}): {}", backlog, why);
                }
                failure = why;
                try {
                    Thread.sleep(delay); // back-off while the store is away, not a synchronisation
                } catch (InterruptedException stopping) {
                    return false;
                }
                delay = Math.min(delay * 2, 10_000);
            }
        }
        return false;
    }

    /** The event a message carries; null (logged, counted, acknowledged) for one that cannot be read. */
    private Event event(ClientMessage message) {
        String topic = TopicPattern.mqttTopic(message.getAddress(), wildcards);
        byte[] payload;
        try {
            if (message.isLargeMessage()) {
                ByteArrayOutputStream body = new ByteArrayOutputStream((int) Math.min(message.getBodySize(), Integer.MAX_VALUE - 8));
                message.saveToOutputStream(body); // waits for the whole body
                payload = body.toByteArray();
            } else {
                payload = new byte[message.getBodyBuffer().readableBytes()];
                message.getBodyBuffer().readBytes(payload);
            }
        } catch (ActiveMQException | RuntimeException e) {
            unreadable.increment();
            LOG.error("History: an event on '{}' could not be read, not recorded: {}", topic, e.toString());
            return null;
        }
        String id = null;
        for (SimpleString name : message.getPropertyNames()) {
            if (name.startsWith(MQTTUtil.MQTT_USER_PROPERTY_KEY_PREFIX_SIMPLE) && name.toString().endsWith(ID_PROPERTY_END)) {
                id = message.getStringProperty(name);
            }
        }
        if (id == null || !EventIds.wellFormed(id)) {
            // entered without one (an MQTT will, sent by the broker itself): derived alike on every node
            String client = message.getStringProperty(MessageUtil.CONNECTION_ID_PROPERTY_NAME);
            id = EventIds.derived(message.getTimestamp(), client + "\n" + topic);
        }
        return new Event(id, topic, EventIds.receivedMillis(id), payload);
    }

    private Queue queue() {
        String name = queueName;
        return broker.server() == null || name == null ? null : broker.server().locateQueue(SimpleString.of(name));
    }

    /** Events recorded since start. */
    long recorded() {
        return written.sum();
    }

    /** Events waiting in the broker to be recorded. */
    long waiting() {
        Queue queue = queue();
        return queue == null ? 0 : queue.getMessageCount();
    }

    /** Events the full subscription dropped, never recorded, since the broker started. */
    long lost() {
        Queue queue = queue();
        return queue == null ? 0 : queue.getMessagesReplaced();
    }

    /**
     * How far recording is behind: the age of the batch being written, else how old the last batch was when written
     * while more events wait, else 0 (caught up: an idle bus is not behind).
     */
    double lagSeconds() {
        long pending = pendingSince;
        if (pending > 0) {
            return (System.currentTimeMillis() - pending) / 1000.0;
        }
        return waiting() > 0 ? lastLagMillis / 1000.0 : 0;
    }

    /** Why events are not being recorded now, or null when they are (or none wait). */
    String failure() {
        return stopped != null ? stopped : pendingSince > 0 ? failure : null;
    }

    /** Events that could not be read from the broker, never recorded. */
    long unreadable() {
        return unreadable.sum();
    }
}
