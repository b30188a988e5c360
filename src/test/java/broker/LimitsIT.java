package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** max-packet-size for every MQTT version and max-connections per listener. */
class LimitsIT {

    @TempDir
    Path data;

    @Test
    void a_packet_over_the_maximum_size_disconnects_an_mqtt_311_publisher() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data)
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.max-packet-size", "2048").start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/#")) {
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            assertThrows(MqttException.class, () -> Clients.publish(publisher, "ansible/big", "x".repeat(4096), 1, false));
            assertFalse(publisher.isConnected());
            Clients.close(publisher);

            MqttClient again = Clients.publisher(app.wsUrl());
            Clients.publish(again, "ansible/small", "x".repeat(1024), 1, false);
            Clients.close(again);
            assertEquals("ansible/small", subscriber.next(Duration.ofSeconds(10)).topic(), "the big one never arrives");
        }
    }

    @Test
    void connections_beyond_max_connections_are_refused_and_accepted_again_when_one_leaves() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data)
                .set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.max-connections", "3").start()) {
            List<MqttClient> clients = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                clients.add(Clients.connect(app.wsUrl(), null, null));
            }
            assertThrows(MqttException.class, () -> Clients.connect(app.wsUrl(), null, null));

            Clients.close(clients.remove(0));
            Await.until(Duration.ofSeconds(10), () -> {
                try {
                    clients.add(Clients.connect(app.wsUrl(), null, null));
                    return true;
                } catch (MqttException e) {
                    return false;
                }
            }, () -> "no room after a client left");
            clients.forEach(Clients::close);
        }
    }
}
