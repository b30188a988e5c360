package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Path;

import firehose.Clients;
import firehose.FirehoseApp;
import firehose.RawMqtt;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MQTT 3.1.1 keep-alive as the protocol says: 0 turns the idle check off; a client that asked for one is held to it. */
class KeepAliveIT {

    @TempDir
    Path data;

    @Test
    void a_keep_alive_zero_subscriber_stays_while_a_silent_one_with_keep_alive_is_dropped() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                .set("firehose.broker.server-keep-alive", "1").start();
             Socket zero = RawMqtt.subscriber(app.port("mqtt"), "keep-alive-zero", 0, "ansible/#", 0);
             Socket silent = RawMqtt.subscriber(app.port("mqtt"), "keep-alive-one", 1, "ansible/#", 0)) {
            // keep-alive 1 s and no PINGREQ: closed after 1.5 s, at the broker's next check (every 2 s)
            silent.setSoTimeout(15_000);
            assertEquals(-1, silent.getInputStream().read(), "the silent client is disconnected");
            // the keep-alive 0 client has been as silent for as long, and still receives
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            try {
                Clients.publish(publisher, "ansible/still-there", "x", 0, false);
            } finally {
                Clients.close(publisher);
            }
            InputStream in = zero.getInputStream();
            zero.setSoTimeout(10_000);
            assertEquals(0x30, in.read() & 0xF0, "a PUBLISH reaches the keep-alive 0 subscriber");
        }
    }
}
