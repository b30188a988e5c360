package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import broker.guard.Refusals;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile or careless clients cost at most one log line a minute, never an ERROR or a stack trace. */
class FloodFreeLogIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path data;

    @Test
    void a_first_packet_that_is_not_a_connect_closes_the_connection_with_one_line_and_no_stack_trace() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                     .set("firehose.broker.handshake-timeout", "2").start();
             Subscriber everything = Subscriber.on(app.tcpUrl(), "#")) {
            byte[] subscribe = RawMqtt.subscribe(4, 1, List.of("ansible/#"));
            byte[] publish = RawMqtt.publish("ansible/first", "forged".getBytes(StandardCharsets.UTF_8));
            byte[] pingreq = {(byte) 0xC0, 0};
            // Artemis reads 8 bytes before it takes a connection for MQTT: four PINGREQs are read as packets, one waits
            // for the handshake timeout
            byte[] pingreqs = RawMqtt.concat(pingreq, pingreq, pingreq, pingreq);
            int rounds = 3;
            for (int i = 0; i < rounds; i++) {
                for (byte[] first : List.of(subscribe, publish, pingreqs, pingreq)) {
                    try (Socket socket = new Socket()) {
                        socket.connect(new InetSocketAddress("127.0.0.1", app.port("mqtt")), 5000);
                        socket.setSoTimeout(5000);
                        socket.getOutputStream().write(first);
                        RawMqtt.assertClosed(socket);
                    }
                }
            }
            assertEquals(3 * rounds, app.broker().refused("mqtt", Refusals.MALFORMED_PACKET));
            assertEquals(rounds, app.broker().refused("mqtt", Refusals.HANDSHAKE_TIMEOUT));

            // nothing of them was delivered, and the broker still serves
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/after", "real", 1, false);
            Clients.close(publisher);
            assertEquals("ansible/after", everything.next(WAIT).topic());

            List<LogCapture.Line> problems = log.problems();
            assertEquals(2, problems.size(), "one line for each reason: " + problems);
            assertTrue(problems.stream().anyMatch(l -> l.text().contains("the first packet was a SUBSCRIBE, not a CONNECT")), problems.toString());
            assertTrue(log.lines().stream().noneMatch(l -> l.text().contains(" | ")), "no stack trace: " + log.lines());
        }
    }
}
