package broker.artemis;

import broker.artemis.members.ArtemisMembers;
import org.apache.activemq.artemis.core.protocol.mqtt.BoundedMQTTProtocolManagerFactory;

/**
 * Every member of Artemis that Firehose reaches past its public API, checked at once before the broker starts: the
 * Artemis version it was built against, the private fields it reads or sets, the private constructor it calls and
 * the package-private method it overrides. A mismatch stops the start with one line naming the member and its row of
 * {@code docs/artemis-changes.md}, instead of failing later, at the first MQTT connection or on a cluster node only.
 */
public final class ArtemisCouplings {

    private ArtemisCouplings() {
    }

    /** @throws ArtemisMembers.Mismatch naming what is not there */
    public static void check() {
        ArtemisMembers.requireBuiltAgainst();
        BoundedMQTTProtocolManagerFactory.requireArtemis();
        try {
            LocalBindingCount.requireArtemis();
        } catch (ExceptionInInitializerError e) { // a member a class' static field holds
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }
}
