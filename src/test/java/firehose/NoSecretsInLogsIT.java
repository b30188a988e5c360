package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No password, configured or generated, appears in any log line from start to stop. */
class NoSecretsInLogsIT {

    @TempDir
    Path data;

    @Test
    void passwords_never_reach_the_log() throws Exception {
        String internal = "internal-secret-90210";
        String wrong = "mistyped-secret-31337";
        try (LogCapture log = LogCapture.open()) {
            try (FirehoseApp app = FirehoseApp.builder(data)
                    .set("firehose.broker.sys-interval", "1")
                    .set("firehose.internal.password", internal).start()) {
                assertThrows(MqttException.class, () -> Clients.connect(app.tcpUrl(), FirehoseApp.PUBLISHER, wrong));
                MqttClient publisher = Clients.publisher(app.sslUrl());
                // refused, acknowledged as MQTT 3.1.1 lets a server do, counted and logged (the log line names the user)
                Clients.publish(publisher, "zuul/outside", "x", 1, false);
                assertEquals(1, app.broker().publishesRefused("outside-account"));
                Clients.close(publisher);
            }
            assertTrue(log.lines().stream().anyMatch(l -> l.text().contains("Broker listening")), "the log was captured");
            for (String secret : new String[] {FirehoseApp.PUBLISHER_PASSWORD, TestTls.PASSWORD, internal, wrong}) {
                assertFalse(log.lines().stream().anyMatch(l -> l.text().contains(secret)),
                        () -> "a log line shows a password: " + log.lines().stream().filter(l -> l.text().contains(secret)).toList());
            }
        }
    }
}
