package broker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import broker.guard.Refusals;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MQTT strings must be well-formed UTF-8 without U+0000 (MQTT 3.1.1 §1.5.3, MQTT 5 §1.5.4): ill-formed bytes close the
 * connection and nothing of the packet is delivered, wherever the string is; U+FFFD (EF BF BD) is a character like any
 * other, accepted and delivered byte for byte.
 */
class Utf8StringsIT {

    private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};

    @TempDir
    Path data;

    @Test
    void u_fffd_is_accepted_everywhere_and_ill_formed_utf8_closes_the_connection_wherever_it_is() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").start();
             Socket everything = RawMqtt.subscriber(app.port("mqtt"), Clients.id("all"), 0, "ansible/#", 0)) {
            int port = app.port("mqtt");
            everything.setSoTimeout(10_000);

            // U+FFFD in a topic: accepted and delivered byte for byte, also to a filter holding it
            byte[] topic = bytes("ansible/", REPLACEMENT, "/ok");
            try (Socket filtered = RawMqtt.connected(port, 4, Clients.id("f"), true);
                 Socket publisher = RawMqtt.publisher(port, Clients.id("p"), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)) {
                filtered.setSoTimeout(10_000);
                filtered.getOutputStream().write(RawMqtt.packet(0x82, RawMqtt.concat(new byte[] {0, 1},
                        RawMqtt.string(bytes("ansible/", REPLACEMENT, "/+")), new byte[] {0})));
                assertEquals(List.of(0), RawMqtt.subAck(filtered, 4, 1), "a filter holding U+FFFD is granted");
                publisher.getOutputStream().write(RawMqtt.publish(topic, "replacement character".getBytes(StandardCharsets.UTF_8)));
                assertArrayEquals(topic, nextPublish(everything).topic(), "the topic, byte for byte");
                assertArrayEquals(topic, nextPublish(filtered).topic(), "to the filter holding U+FFFD too");
            }
            // ... in a client id: connected
            RawMqtt.connected(port, 4, "id-\uFFFD", true).close();
            // ... in a will topic: the will is sent, byte for byte
            byte[] willTopic = bytes("ansible/", REPLACEMENT, "/will");
            try (Socket willer = open(port)) {
                willer.getOutputStream().write(connect(bytes(Clients.id("w")), willTopic, bytes(FirehoseApp.PUBLISHER)));
                assertEquals(0, connAck(willer), "accepted");
            } // dropped without DISCONNECT: the will is due
            assertArrayEquals(willTopic, nextPublish(everything).topic(), "the will's topic, byte for byte");
            // ... in a user name: answered (no such account), not cut off
            try (Socket stranger = open(port)) {
                stranger.getOutputStream().write(connect(bytes(Clients.id("s")), null, bytes("user-", REPLACEMENT)));
                assertNotEquals(0, connAck(stranger), "a CONNACK refusing the unknown user");
            }
            assertEquals(0, app.broker().refused("mqtt", Refusals.INVALID_STRING), "U+FFFD refused nowhere");

            // ill-formed: a lone continuation after a lead byte, a surrogate (ED A0 80), an overlong '/' (C0 AF), a code
            // point past U+10FFFF (F4 90 80 80)
            byte[] badLead = {(byte) 0xC3, 0x28};
            byte[] surrogate = {(byte) 0xED, (byte) 0xA0, (byte) 0x80};
            byte[] overlong = {(byte) 0xC0, (byte) 0xAF};
            byte[] beyond = {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80};
            for (byte[] bad : List.of(badLead, surrogate, overlong, beyond)) {
                try (Socket publisher = RawMqtt.publisher(port, Clients.id("bad"), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)) {
                    publisher.getOutputStream().write(RawMqtt.publish(bytes("ansible/", bad), "forged".getBytes(StandardCharsets.UTF_8)));
                    RawMqtt.assertClosed(publisher);
                }
            }
            try (Socket subscriber = RawMqtt.connected(port, 4, Clients.id("bf"), true)) {
                subscriber.getOutputStream().write(RawMqtt.subscribe(bytes("ansible/", beyond)));
                RawMqtt.assertClosed(subscriber);
            }
            for (byte[] connect : List.of(connect(bytes("id-", badLead), null, null),
                    connect(bytes(Clients.id("bw")), bytes("ansible/", surrogate), bytes(FirehoseApp.PUBLISHER)),
                    connect(bytes(Clients.id("bu")), null, bytes("user-", badLead)))) {
                try (Socket socket = open(port)) {
                    socket.getOutputStream().write(connect);
                    RawMqtt.assertClosed(socket); // no CONNACK
                }
            }
            // an MQTT 5 PUBLISH whose User Property holds ill-formed bytes
            try (Socket v5 = RawMqtt.connected(port, 5, Clients.id("v5"), true)) {
                byte[] property = RawMqtt.concat(new byte[] {0x26}, RawMqtt.string(bytes("k")), RawMqtt.string(bytes("v", surrogate)));
                v5.getOutputStream().write(RawMqtt.packet(0x30, RawMqtt.concat(RawMqtt.string(bytes("ansible/v5")),
                        new byte[] {(byte) property.length}, property, bytes("forged"))));
                RawMqtt.assertClosed(v5);
            }
            assertEquals(9, app.broker().refused("mqtt", Refusals.INVALID_STRING));

            // nothing forged came through: the next message is the one published after them
            try (Socket publisher = RawMqtt.publisher(port, Clients.id("p"), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)) {
                publisher.getOutputStream().write(RawMqtt.publish("ansible/last", "last".getBytes(StandardCharsets.UTF_8)));
                assertArrayEquals(bytes("ansible/last"), nextPublish(everything).topic());
            }
            List<LogCapture.Line> refusals = log.problems().stream().filter(l -> l.text().contains("not well-formed UTF-8")).toList();
            assertEquals(1, refusals.size(), "one line for the nine: " + log.problems());
            assertTrue(log.lines().stream().noneMatch(l -> l.level().isMoreSpecificThan(Level.ERROR) || l.text().contains(" | ")),
                    "no ERROR, no stack trace: " + log.problems());
        }
    }

    record Publish(byte[] topic, byte[] payload) {
    }

    /** Reads packets until a QoS 0 PUBLISH; fails on the socket's timeout or its end. */
    private static Publish nextPublish(Socket socket) throws IOException {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        while (true) {
            int type = in.readUnsignedByte();
            byte[] body = new byte[remainingLength(in)];
            in.readFully(body);
            if ((type >> 4) == 3) {
                int length = ((body[0] & 0xff) << 8) | (body[1] & 0xff);
                int payloadAt = 2 + length + ((type & 0x06) != 0 ? 2 : 0);
                return new Publish(java.util.Arrays.copyOfRange(body, 2, 2 + length), java.util.Arrays.copyOfRange(body, payloadAt, body.length));
            }
        }
    }

    /** The CONNACK's return code. */
    private static int connAck(Socket socket) throws IOException {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        assertEquals(0x20, in.readUnsignedByte(), "CONNACK");
        byte[] rest = new byte[remainingLength(in)];
        in.readFully(rest);
        return rest[1];
    }

    private static int remainingLength(DataInputStream in) throws IOException {
        int length = 0;
        for (int shift = 0, digit = 0x80; (digit & 0x80) != 0; shift += 7) {
            digit = in.readUnsignedByte();
            length |= (digit & 0x7F) << shift;
        }
        return length;
    }

    private static Socket open(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(5000);
        return socket;
    }

    /**
     * An MQTT 3.1.1 CONNECT (clean session, no keep-alive) with these bytes as client id, will topic (null: no will;
     * QoS 0, payload "gone") and user name (null: anonymous; the publisher's password when given).
     */
    private static byte[] connect(byte[] clientId, byte[] willTopic, byte[] user) {
        int flags = 0x02 | (willTopic == null ? 0 : 0x04) | (user == null ? 0 : 0xC0);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, (byte) flags, 0, 0});
        body.writeBytes(RawMqtt.string(clientId));
        if (willTopic != null) {
            body.writeBytes(RawMqtt.string(willTopic));
            body.writeBytes(RawMqtt.string(bytes("gone")));
        }
        if (user != null) {
            body.writeBytes(RawMqtt.string(user));
            body.writeBytes(RawMqtt.string(bytes(FirehoseApp.PUBLISHER_PASSWORD)));
        }
        return RawMqtt.packet(0x10, body.toByteArray());
    }

    /** The parts (strings as UTF-8, byte arrays as they are) one after another. */
    private static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            out.writeBytes(part instanceof byte[] raw ? raw : part.toString().getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }
}
