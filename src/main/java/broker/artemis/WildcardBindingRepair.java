package broker.artemis;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.WildcardConfiguration;
import org.apache.activemq.artemis.core.postoffice.Address;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.Bindings;
import org.apache.activemq.artemis.core.postoffice.PostOffice;
import org.apache.activemq.artemis.core.postoffice.impl.AddressImpl;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerBindingPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Repairs a race in Artemis' wildcard routing. The first message to a topic builds that topic's list of subscriptions
 * from the wildcard subscriptions that match it, outside the lock under which subscriptions are added: a wildcard
 * subscription added while the list is being built is left out of it for good, and its subscriber never receives
 * that topic. A subscription added on one node reaches the others as a stream of notifications, so while nodes join
 * or many clients subscribe, a node publishing to a new topic loses subscribers this way (seen in bench/cluster.sh:
 * 32 of 10,000 remote subscribers never got a message).
 *
 * <p>Each wildcard subscription added is checked again a moment later (once any list being built meanwhile is
 * complete): every topic list that should hold it and does not gets it.
 */
public final class WildcardBindingRepair implements ActiveMQServerBindingPlugin {

    private static final Logger LOG = LoggerFactory.getLogger(WildcardBindingRepair.class);
    /** Long enough for a topic list being built when the subscription was added to be complete. */
    static final long SETTLE_NANOS = 100_000_000L;

    private record Added(Binding binding, long at) {
    }

    private final WildcardConfiguration wildcards;
    private final ConcurrentLinkedQueue<Added> added = new ConcurrentLinkedQueue<>();
    private final AtomicLong repaired = new AtomicLong();

    WildcardBindingRepair(WildcardConfiguration wildcards) {
        this.wildcards = wildcards;
    }

    @Override
    public void afterAddBinding(Binding binding) {
        if (wildcards.isWild(binding.getAddress())) {
            added.add(new Added(binding, System.nanoTime()));
        }
    }

    /** Checks the wildcard subscriptions added at least {@link #SETTLE_NANOS} ago; run every few hundred ms. */
    void repair(PostOffice postOffice) {
        long settled = System.nanoTime() - SETTLE_NANOS;
        Map<SimpleString, List<Binding>> byWildcard = new HashMap<>();
        for (Added next = added.peek(); next != null && next.at() - settled <= 0; next = added.peek()) {
            added.poll();
            byWildcard.computeIfAbsent(next.binding().getAddress(), a -> new ArrayList<>()).add(next.binding());
        }
        if (byWildcard.isEmpty()) {
            return;
        }
        long before = repaired.get();
        try {
            for (SimpleString topic : postOffice.getAddresses()) {
                if (wildcards.isWild(topic)) {
                    continue;
                }
                Bindings list = postOffice.lookupBindingsForAddress(topic);
                if (list == null) {
                    continue; // no list yet: it will be built with every subscription there is then
                }
                Address address = new AddressImpl(topic, wildcards);
                byWildcard.forEach((wildcard, bindings) -> {
                    if (address.matches(new AddressImpl(wildcard, wildcards))) {
                        for (Binding binding : bindings) {
                            synchronized (postOffice) { // the lock under which Artemis changes a topic's list
                                if (list.getBinding(binding.getUniqueName().toString()) == null
                                        && postOffice.getBinding(binding.getUniqueName()) == binding) {
                                    list.addBinding(binding);
                                    repaired.incrementAndGet();
                                }
                            }
                        }
                    }
                });
            }
        } catch (Exception e) {
            LOG.warn("Could not check the subscriptions of new topics: {}", e.toString());
        }
        if (repaired.get() > before) {
            LOG.info("Gave {} wildcard subscriptions the topics they had missed (added while a topic's first message was routed)",
                    repaired.get() - before);
        }
    }

    /** Subscriptions added to a topic's list that had missed them, since start. */
    long repaired() {
        return repaired.get();
    }
}
