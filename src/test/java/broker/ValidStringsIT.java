package broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import firehose.Subscriber;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Topics, filters and client ids must be well-formed UTF-8 without U+0000 (MQTT 3.1.1 §1.5.3, MQTT 5 §1.5.4): the
 * connection that sends one is closed, nothing of it is delivered, and the log gets one line for all of them.
 */
class ValidStringsIT {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path data;

    @Test
    void a_malformed_topic_filter_or_client_id_closes_its_connection_and_nothing_is_delivered() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Subscriber everything = Subscriber.on(app.tcpUrl(), "#")) {
            int port = app.port("mqtt");
            // a NUL in the topic; invalid UTF-8 (0xFF 0xFE); a lone surrogate encoded in 3 bytes (ED A0 80)
            for (byte[] topic : List.of(concat(bytes("ansible/a"), new byte[] {0}, bytes("b")),
                    concat(bytes("ansible/"), new byte[] {(byte) 0xff, (byte) 0xfe}),
                    concat(bytes("ansible/"), new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}))) {
                try (Socket publisher = RawMqtt.publisher(port, Clients.id("bad"), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)) {
                    publisher.getOutputStream().write(RawMqtt.publish(topic, bytes("forged")));
                    assertClosed(publisher);
                }
            }
            try (Socket subscriber = RawMqtt.subscriber(port, Clients.id("sub"), 0, "ansible/ok", 0)) {
                subscriber.getOutputStream().write(RawMqtt.subscribe(concat(bytes("ansible/"), new byte[] {0})));
                assertClosed(subscriber);
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                socket.setSoTimeout(5000);
                socket.getOutputStream().write(RawMqtt.connect(new byte[] {'i', 'd', (byte) 0xc3}));
                assertClosed(socket); // no CONNACK: closed
            }

            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                socket.setSoTimeout(5000);
                // CONNECT with a will (flags: clean session + will flag) whose topic holds a NUL
                byte[] body = concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 0x06, 0, 0}, lengthPrefixed(bytes("willer")),
                        lengthPrefixed(concat(bytes("ansible/w"), new byte[] {0})), lengthPrefixed(bytes("gone")));
                socket.getOutputStream().write(concat(new byte[] {0x10, (byte) body.length}, body));
                assertClosed(socket);
            }

            // nothing forged came through: the next message is the good one published after them
            MqttClient publisher = Clients.publisher(app.tcpUrl());
            Clients.publish(publisher, "ansible/ok", "good", 1, false);
            Subscriber.Received next = everything.next(WAIT);
            assertEquals("ansible/ok", next.topic());
            assertEquals("good", next.payload());
            assertNull(everything.poll(Duration.ofMillis(300)));
            Clients.close(publisher);

            assertEquals(6, app.broker().invalidStringsRefused());
            assertTrue(app.http("/observe/metrics").body().contains("firehose_broker_connections_refused_total{reason=\"invalid-string\"} 6.0"));
            List<LogCapture.Line> problems = log.problems();
            assertEquals(1, problems.size(), "one line for the six: " + problems);
            assertTrue(problems.get(0).text().contains("not well-formed UTF-8 or holds U+0000"), problems.get(0).text());
        }
    }

    /** The broker closed the connection: the stream ends (anything it sent before, e.g. a SUBACK, is skipped). */
    private static void assertClosed(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        try {
            while (in.read() >= 0) {
                // drain until the end
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the connection stayed open");
        } catch (IOException reset) {
            // closed with a reset: closed too
        }
    }

    private static byte[] lengthPrefixed(byte[] text) {
        return concat(new byte[] {(byte) (text.length >> 8), (byte) text.length}, text);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.write(part, 0, part.length);
        }
        return out.toByteArray();
    }
}
