package broker.artemis;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.WildcardConfiguration;
import org.apache.activemq.artemis.core.postoffice.Address;
import org.apache.activemq.artemis.core.postoffice.Binding;
import org.apache.activemq.artemis.core.postoffice.BindingType;
import org.apache.activemq.artemis.core.postoffice.PostOffice;
import org.apache.activemq.artemis.core.postoffice.impl.AddressImpl;
import org.apache.activemq.artemis.core.server.BindingQueryResult;
import org.apache.activemq.artemis.core.server.impl.AddressInfo;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.activemq.artemis.utils.CompositeAddress;

/**
 * A binding query whose queue names are found when asked for, by address. Artemis answers every binding query by
 * matching the address against every binding of the broker, and each MQTT SUBSCRIBE makes two (one for the
 * subscription's address, of which it reads only the auto-create flags, one for the retained messages): with N
 * subscribers each new one cost O(N), and a reconnect storm O(N²). Here the flags cost a settings lookup; the
 * names, when read, cost one match per address (topics, not subscribers) plus the bindings of the matching ones.
 */
public final class IndexedBindingQuery extends BindingQueryResult {

    private final SimpleString queried;
    private final SimpleString address;
    private final boolean newFQQN;
    private final PostOffice postOffice;
    private final WildcardConfiguration wildcards;
    private volatile List<SimpleString> names;

    IndexedBindingQuery(SimpleString queried, boolean newFQQN, AddressInfo info, AddressSettings settings, PostOffice postOffice,
                        WildcardConfiguration wildcards) {
        super(info != null, info, Collections.emptyList(), settings.isAutoCreateQueues(), settings.isAutoCreateAddresses(),
                settings.isDefaultPurgeOnNoConsumers(), settings.getDefaultMaxConsumers(), settings.isDefaultExclusiveQueue(),
                settings.isDefaultLastValueQueue(), settings.getDefaultLastValueKey(), settings.isDefaultNonDestructive(),
                settings.getDefaultConsumersBeforeDispatch(), settings.getDefaultDelayBeforeDispatch());
        this.queried = queried;
        this.address = CompositeAddress.extractAddressName(queried);
        this.newFQQN = newFQQN;
        this.postOffice = postOffice;
        this.wildcards = wildcards;
    }

    /** The queues (local and remote) bound to an address that matches the queried one, as Artemis' own query names them. */
    @Override
    public List<SimpleString> getQueueNames() {
        List<SimpleString> found = names;
        if (found == null) {
            found = find();
            names = found;
        }
        return found;
    }

    private List<SimpleString> find() {
        Address query = new AddressImpl(address, wildcards);
        boolean literal = !hasWildcard(address);
        boolean fullyQualified = !newFQQN && CompositeAddress.isFullyQualified(queried.toString());
        List<SimpleString> found = new ArrayList<>();
        try {
            for (SimpleString candidate : postOffice.getAddresses()) {
                // two addresses without wildcards match when equal; only a wildcard needs Artemis' matching
                boolean matches = literal && !hasWildcard(candidate) ? candidate.equals(address)
                        : new AddressImpl(candidate, wildcards).matches(query);
                if (!matches) {
                    continue;
                }
                for (Binding binding : postOffice.getDirectBindings(candidate)) {
                    if (binding.getType() == BindingType.LOCAL_QUEUE || binding.getType() == BindingType.REMOTE_QUEUE) {
                        found.add(fullyQualified ? CompositeAddress.toFullyQualified(address, binding.getUniqueName()) : binding.getUniqueName());
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("listing the bindings of " + address, e);
        }
        return found;
    }

    private boolean hasWildcard(SimpleString name) {
        return name.contains(wildcards.getAnyWords()) || name.contains(wildcards.getSingleWord());
    }
}
