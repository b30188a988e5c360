package broker.artemis;

import java.lang.reflect.Field;
import java.util.Objects;

import broker.artemis.members.ArtemisMembers;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.Bindings;
import org.apache.activemq.artemis.core.postoffice.BindingsFactory;
import org.apache.activemq.artemis.core.postoffice.impl.BindingsImpl;
import org.apache.activemq.artemis.core.postoffice.impl.LocalQueueBinding;
import org.apache.activemq.artemis.core.postoffice.impl.PostOfficeImpl;
import org.apache.activemq.artemis.core.postoffice.impl.SimpleAddressManager;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerBasePlugin;

/**
 * Artemis' list of an address's subscriptions ({@code BindingsImpl}) walks all of them each time one is added or
 * removed ({@code checkBindingsIdMap}), only to learn whether one of them is local: with N subscribers on a topic,
 * O(N) per subscribe and per disconnect, half of the CPU of an 18,000-client reconnect storm (JFR), and each new
 * wildcard subscriber pays it on every topic it matches. The walk is a {@code forEach} over the list's id map, its
 * only use of {@code forEach}; that private map is replaced (by reflection) by a {@link Counted} map that counts its
 * local subscriptions and hands the walk one local subscription, or none, instead of all of them. Every other use of
 * the map is unchanged.
 * <p>
 * Each list gets its map as it is made, before anyone else sees it: the address manager's list factory (a private
 * field) is wrapped once, when the broker registers this plugin, before any address exists. Lists used to be adopted
 * later (at their first subscription, or by a sweep once a second), and a list that Artemis was still filling, as it
 * does for a topic's first message outside any lock, could lose to the copy the entries added meanwhile from its id
 * map, by which messages from another node are routed.
 * <p>
 * On a clustered node the factory also wraps each list in {@link RemoteRouteIds}, which writes the ids of the other
 * nodes' subscriptions a message goes to once per message instead of once per subscription.
 */
public final class LocalBindingCount implements ActiveMQServerBasePlugin {

    private static final Field ID_MAP = ArtemisMembers.field(BindingsImpl.class, "bindingsIdMap", Map.class, 22);
    private static final Field FACTORY = ArtemisMembers.field(SimpleAddressManager.class, "bindingsFactory", BindingsFactory.class, 22);

    private final boolean clustered;

    /** {@code clustered}: the lists also write remote subscriptions' ids once per message ({@link RemoteRouteIds}). */
    LocalBindingCount(boolean clustered) {
        this.clustered = clustered;
    }

    /** Fails, naming the member, unless this Artemis has what this class and {@link RemoteRouteIds} reach. */
    static void requireArtemis() {
        Objects.requireNonNull(ID_MAP);
        Objects.requireNonNull(FACTORY);
        RemoteRouteIds.requireArtemis();
    }

    @Override
    public void registered(ActiveMQServer server) {
        if (!(server.getPostOffice() instanceof PostOfficeImpl office) || !(office.getAddressManager() instanceof SimpleAddressManager manager)) {
            throw new IllegalStateException("this Artemis' post office is not the one LocalBindingCount knows (docs/artemis-changes.md row 22)");
        }
        if (clustered) {
            RemoteRouteIds.requireArtemis();
        }
        try {
            BindingsFactory made = (BindingsFactory) FACTORY.get(manager);
            if (!(made instanceof Counting)) {
                FACTORY.set(manager, new Counting(made, manager, clustered));
            }
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Artemis' list factory, whose lists count their local subscriptions from the start. Artemis' address manager also
     * asks it, and only there, whether an address may be reaped as unused ({@code checkAutoRemoveAddress}): a topic
     * counts as used while any subscription is in its list, wildcard ones included (Artemis counts only those made on
     * the address itself, and would reap a topic followed by "#" subscribers every minute, to rebuild its list at its
     * next message: docs/artemis-changes.md row 29).
     */
    private record Counting(BindingsFactory artemis, SimpleAddressManager addresses, boolean clustered) implements BindingsFactory {

        @Override
        public Bindings createBindings(SimpleString address) throws Exception {
            Bindings bindings = artemis.createBindings(address);
            if (bindings instanceof BindingsImpl) {
                ID_MAP.set(bindings, new Counted());
            }
            return clustered ? new RemoteRouteIds(bindings) : bindings;
        }

        @Override
        public boolean isAddressBound(SimpleString address) throws Exception {
            Bindings list = addresses.getExistingBindingsForRoutingAddress(address);
            return list != null && !list.getBindings().isEmpty() || artemis.isAddressBound(address);
        }
    }

    /** An address's subscriptions by id, counting the local ones. */
    private static final class Counted extends ConcurrentHashMap<Long, Binding> {

        private final AtomicInteger local = new AtomicInteger();

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

        private void count(Binding binding, int delta) {
            if (binding instanceof LocalQueueBinding) {
                local.addAndGet(delta);
            }
        }
    }
}
