package broker;

import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.Bindings;
import org.apache.activemq.artemis.core.postoffice.PostOffice;
import org.apache.activemq.artemis.core.postoffice.impl.BindingsImpl;
import org.apache.activemq.artemis.core.postoffice.impl.LocalQueueBinding;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerBindingPlugin;

/**
 * Artemis' list of an address's subscriptions ({@code BindingsImpl}) walks all of them each time one is added or
 * removed ({@code checkBindingsIdMap}), only to learn whether one of them is local: with N subscribers on a topic,
 * O(N) per subscribe and per disconnect, half of the CPU of an 18,000-client reconnect storm (JFR), and each new
 * wildcard subscriber pays it on every topic it matches. The walk is a {@code forEach} over the list's id map, its
 * only use of {@code forEach}; that private map is replaced (by reflection, under the post office's lock, the lock
 * under which Artemis adds and removes subscriptions) by a {@link Counted} map that counts its local subscriptions and
 * hands the walk one local subscription, or none, instead of all of them. Every other use of the map is unchanged.
 * <p>
 * A list is adopted when a subscription is added to its own address, and otherwise (a topic's list built as its first
 * message is routed, holding only wildcard subscriptions) by a sweep over all addresses once a second.
 */
final class LocalBindingCount implements ActiveMQServerBindingPlugin {

    private static final Field ID_MAP = idMap();

    private volatile PostOffice postOffice;

    @Override
    public void registered(ActiveMQServer server) {
        postOffice = server.getPostOffice();
    }

    /** Called by Artemis with the post office's lock held. */
    @Override
    public void afterAddBinding(Binding binding) {
        PostOffice office = postOffice;
        if (office != null) {
            adopt(office, binding.getAddress());
        }
    }

    /** Adopts the lists of every address not adopted yet; run once a second. */
    void sweep(PostOffice office) {
        synchronized (office) {
            for (SimpleString address : office.getAddresses()) {
                adopt(office, address);
            }
        }
    }

    /** The local subscriptions {@code bindings} counts, or -1 while it is not adopted (for tests). */
    static int localSubscriptions(Bindings bindings) {
        try {
            return bindings instanceof BindingsImpl && ID_MAP.get(bindings) instanceof Counted counted ? counted.local() : -1;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void adopt(PostOffice office, SimpleString address) {
        try {
            Bindings bindings = office.lookupBindingsForAddress(address);
            if (!(bindings instanceof BindingsImpl)) {
                return;
            }
            Object map = ID_MAP.get(bindings);
            if (!(map instanceof Counted)) {
                @SuppressWarnings("unchecked")
                Map<Long, Binding> existing = (Map<Long, Binding>) map;
                ID_MAP.set(bindings, new Counted(existing));
            }
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        } catch (Exception e) {
            // the address went meanwhile: nothing to adopt
        }
    }

    private static Field idMap() {
        try {
            Field field = BindingsImpl.class.getDeclaredField("bindingsIdMap");
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("this Artemis' BindingsImpl has no bindingsIdMap: broker.LocalBindingCount must follow it", e);
        }
    }

    /** An address's subscriptions by id, counting the local ones. */
    static final class Counted extends ConcurrentHashMap<Long, Binding> {

        private final AtomicInteger local = new AtomicInteger();

        Counted(Map<Long, Binding> existing) {
            existing.forEach(this::put);
        }

        @Override
        public Binding put(Long id, Binding binding) {
            Binding old = super.put(id, binding);
            count(old, -1);
            count(binding, 1);
            return old;
        }

        @Override
        public Binding putIfAbsent(Long id, Binding binding) {
            Binding old = super.putIfAbsent(id, binding);
            if (old == null) {
                count(binding, 1);
            }
            return old;
        }

        @Override
        public void putAll(Map<? extends Long, ? extends Binding> bindings) {
            bindings.forEach(this::put);
        }

        @Override
        public Binding remove(Object id) {
            Binding old = super.remove(id);
            count(old, -1);
            return old;
        }

        @Override
        public boolean remove(Object id, Object binding) {
            boolean removed = super.remove(id, binding);
            if (removed) {
                count((Binding) binding, -1);
            }
            return removed;
        }

        @Override
        public void clear() {
            keySet().forEach(this::remove);
        }

        /** What Artemis' walk needs: a local subscription if there is one (all of them: none is local, or the first is). */
        @Override
        public void forEach(BiConsumer<? super Long, ? super Binding> action) {
            if (local.get() <= 0) {
                return;
            }
            for (Binding binding : values()) {
                if (binding instanceof LocalQueueBinding) {
                    action.accept(binding.getID(), binding);
                    return;
                }
            }
        }

        int local() {
            return local.get();
        }

        private void count(Binding binding, int delta) {
            if (binding instanceof LocalQueueBinding) {
                local.addAndGet(delta);
            }
        }
    }
}
