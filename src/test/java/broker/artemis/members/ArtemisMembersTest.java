package broker.artemis.members;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import io.netty.handler.codec.mqtt.MqttConnectMessage;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTProtocolHandler;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTProtocolManager;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTStateManager;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.junit.jupiter.api.Test;

/** What Firehose reaches of Artemis is found, and what is not there fails with one line naming it and its row. */
class ArtemisMembersTest {

    @Test
    void a_field_that_is_there_with_its_type_is_found() {
        assertNotNull(ArtemisMembers.field(MQTTStateManager.class, "sessionStates", Map.class, 21));
    }

    @Test
    void a_missing_field_names_itself_the_version_and_the_row() {
        ArtemisMembers.Mismatch missing = assertThrows(ArtemisMembers.Mismatch.class,
                () -> ArtemisMembers.field(MQTTStateManager.class, "sessionStatez", Map.class, 21));
        assertEquals("Artemis " + ArtemisMembers.running() + " (Firehose was built against " + ArtemisMembers.BUILT_AGAINST
                + ") has no field MQTTStateManager.sessionStatez of type Map: see docs/artemis-changes.md row 21", missing.getMessage());
        assertTrue(!missing.getMessage().contains("\n"), "one line");
    }

    @Test
    void a_field_of_another_type_is_a_mismatch() {
        assertThrows(ArtemisMembers.Mismatch.class, () -> ArtemisMembers.field(MQTTStateManager.class, "sessionStates", List.class, 21));
    }

    @Test
    void a_missing_constructor_names_its_parameters() {
        ArtemisMembers.Mismatch missing = assertThrows(ArtemisMembers.Mismatch.class,
                () -> ArtemisMembers.constructor(MQTTStateManager.class, 28, ActiveMQServer.class, String.class));
        assertTrue(missing.getMessage().contains("constructor MQTTStateManager(ActiveMQServer, String): see docs/artemis-changes.md row 28"),
                missing.getMessage());
        assertNotNull(ArtemisMembers.constructor(MQTTStateManager.class, 28, ActiveMQServer.class));
    }

    /** Declares Artemis' package-private {@code handleConnect} from another package: it overrides nothing. */
    static final class NotOverriding extends MQTTProtocolHandler {
        NotOverriding(ActiveMQServer server, MQTTProtocolManager manager) {
            super(server, manager);
        }

        void handleConnect(MqttConnectMessage connect) {
        }
    }

    @Test
    void a_method_of_the_same_name_in_another_package_does_not_override_a_package_private_one() {
        ArtemisMembers.Mismatch mismatch = assertThrows(ArtemisMembers.Mismatch.class,
                () -> ArtemisMembers.overrides(NotOverriding.class, "handleConnect", 23, MqttConnectMessage.class));
        assertTrue(mismatch.getMessage().contains("package-private method MQTTProtocolHandler.handleConnect(MqttConnectMessage) that "
                + "NotOverriding overrides: see docs/artemis-changes.md row 23"), mismatch.getMessage());
    }

    @Test
    void a_method_artemis_does_not_have_is_a_mismatch() {
        assertThrows(ArtemisMembers.Mismatch.class, () -> ArtemisMembers.overrides(NotOverriding.class, "handleConnect", 23, String.class));
    }

    @Test
    void this_build_knows_the_artemis_it_was_built_against_and_runs_with_it() {
        assertEquals("2.55.0", ArtemisMembers.BUILT_AGAINST);
        ArtemisMembers.requireBuiltAgainst();
        ArtemisMembers.Mismatch other = assertThrows(ArtemisMembers.Mismatch.class, () -> ArtemisMembers.requireSame("2.56.0", "2.55.0"));
        assertTrue(other.getMessage().startsWith("Artemis 2.56.0 is on the class path, but Firehose was built against 2.55.0"),
                other.getMessage());
    }
}
