package org.apache.activemq.artemis.core.protocol.mqtt;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Method;

import broker.artemis.ArtemisCouplings;
import broker.artemis.members.ArtemisMembers;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.handler.codec.mqtt.MqttUnsubscribeMessage;
import org.junit.jupiter.api.Test;

/**
 * {@code ConnectAsking.handleConnect} and {@code handleUnsubscribe} override Artemis' package-private methods: no {@code @Override} can say so, and
 * a renamed or moved method in Artemis would leave Firehose's a method nothing calls.
 */
class ConnectAskingTest {

    @Test
    void handle_connect_overrides_artemis_own() throws Exception {
        ArtemisMembers.overrides(ConnectAsking.class, "handleConnect", 21, MqttConnectMessage.class);
        Method own = ConnectAsking.class.getDeclaredMethod("handleConnect", MqttConnectMessage.class);
        Method artemis = MQTTProtocolHandler.class.getDeclaredMethod("handleConnect", MqttConnectMessage.class);
        // the same runtime package: the JVM links a call to Artemis' method to this one
        assertEquals(artemis.getDeclaringClass().getClassLoader(), own.getDeclaringClass().getClassLoader());
        assertEquals(artemis.getDeclaringClass().getPackageName(), own.getDeclaringClass().getPackageName());
    }

    @Test
    void handle_unsubscribe_overrides_artemis_own() {
        assertDoesNotThrow(() -> ArtemisMembers.overrides(ConnectAsking.class, "handleUnsubscribe", 41, MqttUnsubscribeMessage.class));
    }

    @Test
    void every_coupling_to_this_artemis_holds_before_a_broker_starts() {
        assertDoesNotThrow(ArtemisCouplings::check);
    }
}
