package broker.artemis;

import java.lang.reflect.Field;

import broker.artemis.members.ArtemisMembers;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;

import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.filter.Filter;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.BindingType;
import org.apache.activemq.artemis.core.postoffice.Bindings;
import org.apache.activemq.artemis.core.postoffice.QueueBinding;
import org.apache.activemq.artemis.core.server.Bindable;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.RoutingContext;
import org.apache.activemq.artemis.core.server.cluster.RemoteQueueBinding;
import org.apache.activemq.artemis.core.server.cluster.impl.MessageLoadBalancingType;
import org.apache.activemq.artemis.core.server.cluster.impl.RemoteQueueBindingImpl;

/**
 * A topic's list of subscriptions on a clustered node, which writes the ids of the other nodes' subscriptions a message
 * is routed to once per message, not once per subscription.
 * <p>
 * An event for a topic that N subscribers on another node follow is routed on the publishing node to N remote
 * subscriptions ({@code RemoteQueueBindingImpl}). Each of them adds its subscription's id to the message by reading
 * the ids written so far, copying them into an array 8 bytes longer and putting that back (a property, 8 bytes per
 * id, that tells the other node whom to deliver to): 4·N² bytes copied per event, 400 MB for 10,000 subscribers.
 * Here each remote subscription in the list is wrapped, and while this list routes a message the wrappers only
 * collect their ids; the list writes them, after what was there, once the message is routed. The store-and-forward
 * queue towards the other node is added to the routing as Artemis does it. A remote subscription asked to route
 * outside its list's routing of that message (a redistribution), or to route with an acknowledgement, runs Artemis'
 * own code.
 * <p>
 * The ids end up in another order (routing order instead of reversed), which the receiving node does not look at: it
 * routes the message to each id it finds.
 */
public final class RemoteRouteIds implements Bindings {

    private static final Field IDS_HEADER = ArtemisMembers.field(RemoteQueueBindingImpl.class, "idsHeaderName", SimpleString.class, 31);
    /** The message this thread's innermost list is routing, and the ids it collects. */
    private static final ThreadLocal<Collector> ROUTING = new ThreadLocal<>();

    private final Bindings artemis;

    RemoteRouteIds(Bindings artemis) {
        this.artemis = artemis;
    }

    /** Fails, naming the field, if this Artemis' remote subscriptions are not the ones this class reads (at start). */
    static void requireArtemis() {
        Objects.requireNonNull(IDS_HEADER);
    }

    @Override
    public void route(Message message, RoutingContext context) throws Exception {
        Collector outer = ROUTING.get();
        Collector collector = new Collector(message);
        ROUTING.set(collector);
        try {
            artemis.route(message, context);
        } finally {
            if (outer == null) {
                ROUTING.remove();
            } else {
                ROUTING.set(outer);
            }
            collector.writeTo(message);
        }
    }

    @Override
    public void addBinding(Binding binding) {
        artemis.addBinding(binding instanceof RemoteQueueBindingImpl remote ? new Collecting(remote) : binding);
    }

    @Override
    public void updated(QueueBinding binding) {
        artemis.updated(binding);
    }

    @Override
    public Collection<Binding> getBindings() {
        return artemis.getBindings();
    }

    @Override
    public Binding getBinding(String name) {
        return artemis.getBinding(name);
    }

    @Override
    public Binding removeBindingByUniqueName(SimpleString uniqueName) {
        return artemis.removeBindingByUniqueName(uniqueName);
    }

    @Override
    public SimpleString getName() {
        return artemis.getName();
    }

    @Override
    public void setMessageLoadBalancingType(MessageLoadBalancingType type) {
        artemis.setMessageLoadBalancingType(type);
    }

    @Override
    public MessageLoadBalancingType getMessageLoadBalancingType() {
        return artemis.getMessageLoadBalancingType();
    }

    @Override
    public Message redistribute(Message message, Queue originatingQueue, RoutingContext context) throws Exception {
        return artemis.redistribute(message, originatingQueue, context);
    }

    @Override
    public boolean allowRedistribute() {
        return artemis.allowRedistribute();
    }

    @Override
    public void forEach(BiConsumer<String, Binding> action) {
        artemis.forEach(action);
    }

    @Override
    public int size() {
        return artemis.size();
    }

    @Override
    public boolean hasLocalBinding() {
        return artemis.hasLocalBinding();
    }

    @Override
    public void unproposed(SimpleString groupId) {
        artemis.unproposed(groupId);
    }

    @Override
    public String toString() {
        return artemis.toString();
    }

    /** The ids one list collects while it routes one message, by the property they go to (one per other node). */
    private static final class Collector {

        private final Message message;
        /** Made at the first remote subscription: most routing (a node's own subscribers) meets none. */
        private Map<SimpleString, Ids> byHeader;

        Collector(Message message) {
            this.message = message;
        }

        void add(SimpleString header, long id) {
            if (byHeader == null) {
                byHeader = new HashMap<>(4);
            }
            byHeader.computeIfAbsent(header, h -> new Ids()).add(id);
        }

        /** Appends the collected ids to those the message carries: one property write per other node. */
        void writeTo(Message message) {
            if (byHeader == null) {
                return;
            }
            byHeader.forEach((header, ids) -> {
                byte[] before = message.getExtraBytesProperty(header);
                int offset = before == null ? 0 : before.length;
                byte[] all = Arrays.copyOf(before == null ? new byte[0] : before, offset + ids.count * Long.BYTES);
                ByteBuffer buffer = ByteBuffer.wrap(all, offset, ids.count * Long.BYTES);
                for (int i = 0; i < ids.count; i++) {
                    buffer.putLong(ids.values[i]);
                }
                message.putExtraBytesProperty(header, all);
            });
        }
    }

    private static final class Ids {

        long[] values = new long[16];
        int count;

        void add(long id) {
            if (count == values.length) {
                values = Arrays.copyOf(values, count * 2);
            }
            values[count++] = id;
        }
    }

    /** A remote subscription that, while its list routes a message, only hands the list its id. */
    private static final class Collecting implements RemoteQueueBinding {

        private final RemoteQueueBinding artemis;
        private final SimpleString header;

        Collecting(RemoteQueueBindingImpl artemis) {
            this.artemis = artemis;
            try {
                this.header = (SimpleString) IDS_HEADER.get(artemis);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void route(Message message, RoutingContext context) throws Exception {
            Collector collector = ROUTING.get();
            if (collector == null || collector.message != message) {
                artemis.route(message, context);
                return;
            }
            collector.add(header, artemis.getRemoteQueueID());
            // as Artemis does: the message goes once to the store-and-forward queue towards the other node
            Queue forward = artemis.getQueue();
            List<Queue> queued = context.getDurableQueues(forward.getAddress());
            if (!queued.contains(forward)) {
                context.addQueue(forward.getAddress(), forward);
            }
        }

        @Override
        public void routeWithAck(Message message, RoutingContext context) throws Exception {
            artemis.routeWithAck(message, context);
        }

        @Override
        public void addConsumer(SimpleString filterString) throws Exception {
            artemis.addConsumer(filterString);
        }

        @Override
        public void removeConsumer(SimpleString filterString) throws Exception {
            artemis.removeConsumer(filterString);
        }

        @Override
        public void reset() {
            artemis.reset();
        }

        @Override
        public void disconnect() {
            artemis.disconnect();
        }

        @Override
        public void connect() {
            artemis.connect();
        }

        @Override
        public long getRemoteQueueID() {
            return artemis.getRemoteQueueID();
        }

        @Override
        public void setFilter(Filter filter) {
            artemis.setFilter(filter);
        }

        @Override
        public MessageLoadBalancingType getMessageLoadBalancingType() {
            return artemis.getMessageLoadBalancingType();
        }

        @Override
        public int consumerCount() {
            return artemis.consumerCount();
        }

        @Override
        public Queue getQueue() {
            return artemis.getQueue();
        }

        @Override
        public boolean isLocal() {
            return artemis.isLocal();
        }

        @Override
        public SimpleString getAddress() {
            return artemis.getAddress();
        }

        @Override
        public Bindable getBindable() {
            return artemis.getBindable();
        }

        @Override
        public BindingType getType() {
            return artemis.getType();
        }

        @Override
        public SimpleString getUniqueName() {
            return artemis.getUniqueName();
        }

        @Override
        public SimpleString getRoutingName() {
            return artemis.getRoutingName();
        }

        @Override
        public SimpleString getClusterName() {
            return artemis.getClusterName();
        }

        @Override
        public Filter getFilter() {
            return artemis.getFilter();
        }

        @Override
        public boolean isHighAcceptPriority(Message message) {
            return artemis.isHighAcceptPriority(message);
        }

        @Override
        public boolean isExclusive() {
            return artemis.isExclusive();
        }

        @Override
        public Long getID() {
            return artemis.getID();
        }

        @Override
        public int getDistance() {
            return artemis.getDistance();
        }

        @Override
        public void close() throws Exception {
            artemis.close();
        }

        @Override
        public String toManagementString() {
            return artemis.toManagementString();
        }

        @Override
        public boolean isConnected() {
            return artemis.isConnected();
        }

        @Override
        public void unproposed(SimpleString groupId) {
            artemis.unproposed(groupId);
        }

        @Override
        public String toString() {
            return artemis.toString();
        }
    }
}
