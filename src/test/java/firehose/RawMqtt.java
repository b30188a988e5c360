package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** An MQTT 3.1.1 subscriber written byte by byte on a plain socket, for tests that need control over what it sends. */
public final class RawMqtt {

    private RawMqtt() {
    }

    /**
     * Connects (clean session, the given keep-alive, which it never honours by itself) and subscribes at QoS 0.
     * {@code receiveBuffer}: the socket's receive buffer in bytes, 0 for the system's default.
     */
    public static Socket subscriber(int port, String clientId, int keepAliveSeconds, String filter, int receiveBuffer) throws IOException {
        Socket socket = new Socket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(5000);
        OutputStream out = socket.getOutputStream();
        DataInputStream in = new DataInputStream(socket.getInputStream());

        byte[] id = clientId.getBytes(StandardCharsets.UTF_8);
        byte[] connect = concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, (byte) (keepAliveSeconds >> 8), (byte) keepAliveSeconds}, string(id));
        out.write(packet(0x10, connect));
        byte[] connack = new byte[4];
        in.readFully(connack);
        assertEquals(0x20, connack[0] & 0xff, "CONNACK");
        assertEquals(0, connack[3], "connection accepted");

        byte[] subscribe = concat(new byte[] {0, 1}, string(filter.getBytes(StandardCharsets.UTF_8)), new byte[] {0});
        out.write(packet(0x82, subscribe));
        byte[] suback = new byte[5];
        in.readFully(suback);
        assertEquals(0x90, suback[0] & 0xff, "SUBACK");
        assertEquals(0, suback[4], "subscription granted at QoS 0");
        return socket;
    }

    /** Connects with a user name and password (clean session, no keep-alive) to publish at QoS 0. */
    public static Socket publisher(int port, String clientId, String user, String password) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(5000);
        byte[] connect = concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, (byte) 0xC2, 0, 0},
                string(clientId.getBytes(StandardCharsets.UTF_8)), string(user.getBytes(StandardCharsets.UTF_8)),
                string(password.getBytes(StandardCharsets.UTF_8)));
        socket.getOutputStream().write(packet(0x10, connect));
        byte[] connack = new byte[4];
        new DataInputStream(socket.getInputStream()).readFully(connack);
        assertEquals(0, connack[3], "publisher accepted");
        return socket;
    }

    /** A QoS 0 PUBLISH packet (any size). */
    public static byte[] publish(String topic, byte[] payload) {
        return publish(topic.getBytes(StandardCharsets.UTF_8), payload);
    }

    /** A QoS 0 PUBLISH packet whose topic is the bytes given, well-formed UTF-8 or not. */
    public static byte[] publish(byte[] topic, byte[] payload) {
        return packet(0x30, concat(string(topic), payload));
    }

    /**
     * A socket after CONNECT (protocol level 4, MQTT 3.1.1, or 5; keep-alive 60 s) and its CONNACK, which must accept.
     */
    public static Socket connected(int port, int level, String clientId, boolean cleanSession) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(5000);
        byte[] body = concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', (byte) level, (byte) (cleanSession ? 0x02 : 0), 0, 60},
                level == 5 ? new byte[] {0} : new byte[0], string(clientId.getBytes(StandardCharsets.UTF_8)));
        socket.getOutputStream().write(packet(0x10, body));
        DataInputStream in = new DataInputStream(socket.getInputStream());
        assertEquals(0x20, in.readUnsignedByte(), "CONNACK");
        byte[] rest = new byte[remainingLength(in)];
        in.readFully(rest);
        assertEquals(0, rest[1], "accepted");
        return socket;
    }

    /**
     * A socket after CONNECT with a user name and password (protocol level 4, MQTT 3.1.1, or 5; keep-alive 60 s) and its
     * CONNACK, which must accept.
     */
    public static Socket connected(int port, int level, String clientId, boolean cleanSession, String user, String password)
            throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(5000);
        socket.getOutputStream().write(connect(level, clientId, cleanSession, user, password));
        DataInputStream in = new DataInputStream(socket.getInputStream());
        assertEquals(0x20, in.readUnsignedByte(), "CONNACK");
        byte[] rest = new byte[remainingLength(in)];
        in.readFully(rest);
        assertEquals(0, rest[1], "accepted");
        return socket;
    }

    /** A CONNECT at protocol level 4 or 5 (keep-alive 60 s) with a user name and password (null user: anonymous). */
    public static byte[] connect(int level, String clientId, boolean cleanSession, String user, String password) {
        int flags = (cleanSession ? 0x02 : 0) | (user != null ? 0xC0 : 0);
        byte[] body = concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', (byte) level, (byte) flags, 0, 60},
                level == 5 ? new byte[] {0} : new byte[0], string(clientId.getBytes(StandardCharsets.UTF_8)),
                user != null ? string(user.getBytes(StandardCharsets.UTF_8)) : new byte[0],
                user != null ? string(password.getBytes(StandardCharsets.UTF_8)) : new byte[0]);
        return packet(0x10, body);
    }

    /** A QoS 0 PUBLISH packet at protocol level 4 or 5 (5: with an empty property list). */
    public static byte[] publish(int level, String topic, byte[] payload) {
        return packet(0x30, concat(string(topic.getBytes(StandardCharsets.UTF_8)), level == 5 ? new byte[] {0} : new byte[0], payload));
    }

    /**
     * A QoS 0 PUBLISH packet at protocol level 4 or 5 of exactly {@code size} bytes in all (fixed header included, as
     * MQTT 5's Maximum Packet Size counts), its payload filled with 'x'.
     */
    public static byte[] publishOfSize(int level, String topic, int size) {
        int header = 2 + topic.getBytes(StandardCharsets.UTF_8).length + (level == 5 ? 1 : 0);
        for (int lengthBytes = 1; lengthBytes <= 4; lengthBytes++) {
            int remaining = size - 1 - lengthBytes;
            if (remaining >= header && lengthBytes == lengthBytes(remaining)) {
                byte[] payload = new byte[remaining - header];
                Arrays.fill(payload, (byte) 'x');
                byte[] packet = publish(level, topic, payload);
                assertEquals(size, packet.length, "packet size");
                return packet;
            }
        }
        throw new IllegalArgumentException("no PUBLISH to " + topic + " is " + size + " bytes long");
    }

    private static int lengthBytes(int remaining) {
        return remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
    }

    /**
     * A socket to a WebSocket listener after the opening handshake (subprotocol mqtt), then an MQTT 3.1.1 CONNECT with
     * a user name and password in a binary frame and its CONNACK, which must accept.
     */
    public static Socket webSocketConnected(int port, String clientId, String user, String password) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(5000);
        socket.getOutputStream().write(("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        DataInputStream in = new DataInputStream(socket.getInputStream());
        StringBuilder response = new StringBuilder();
        while (!response.toString().endsWith("\r\n\r\n")) {
            response.append((char) in.readUnsignedByte());
        }
        assertEquals("HTTP/1.1 101", response.substring(0, 12), "the WebSocket handshake: " + response);
        socket.getOutputStream().write(webSocketFrame(connect(4, clientId, true, user, password)));
        byte[] connack = readWebSocketFrame(in);
        assertEquals(0x20, connack[0] & 0xff, "CONNACK");
        assertEquals(0, connack[3], "accepted");
        return socket;
    }

    /** A client's binary WebSocket frame (masked, as RFC 6455 requires of clients) holding {@code payload}, any length. */
    public static byte[] webSocketFrame(byte[] payload) {
        java.io.ByteArrayOutputStream frame = new java.io.ByteArrayOutputStream(payload.length + 14);
        frame.write(0x82);
        if (payload.length < 126) {
            frame.write(0x80 | payload.length);
        } else if (payload.length < 65_536) {
            frame.write(0x80 | 126);
            frame.write(payload.length >> 8);
            frame.write(payload.length);
        } else {
            frame.write(0x80 | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                frame.write((int) ((long) payload.length >> shift));
            }
        }
        byte[] mask = {0x1b, 0x2c, 0x3d, 0x4e};
        frame.writeBytes(mask);
        for (int i = 0; i < payload.length; i++) {
            frame.write(payload[i] ^ mask[i % 4]);
        }
        return frame.toByteArray();
    }

    /** The payload of the server's next WebSocket frame (unmasked, as servers send them). */
    private static byte[] readWebSocketFrame(DataInputStream in) throws IOException {
        in.readUnsignedByte(); // FIN and opcode
        long length = in.readUnsignedByte() & 0x7f;
        if (length == 126) {
            length = in.readUnsignedShort();
        } else if (length == 127) {
            length = in.readLong();
        }
        byte[] payload = new byte[(int) length];
        in.readFully(payload);
        return payload;
    }

    /** A SUBSCRIBE at protocol level 4 or 5 of {@code filters}, each at QoS 0. */
    public static byte[] subscribe(int level, int packetId, java.util.List<String> filters) {
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        body.write(packetId >> 8);
        body.write(packetId);
        if (level == 5) {
            body.write(0); // no properties
        }
        for (String filter : filters) {
            body.writeBytes(string(filter.getBytes(StandardCharsets.UTF_8)));
            body.write(0);
        }
        return packet(0x82, body.toByteArray());
    }

    /** Subscribes and returns the SUBACK's codes, one per filter. */
    public static java.util.List<Integer> subscribe(Socket socket, int level, int packetId, java.util.List<String> filters) throws IOException {
        socket.getOutputStream().write(subscribe(level, packetId, filters));
        return subAck(socket, level, packetId);
    }

    /** Reads a SUBACK, which must be for {@code packetId}, and returns its codes. */
    public static java.util.List<Integer> subAck(Socket socket, int level, int packetId) throws IOException {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        assertEquals(0x90, in.readUnsignedByte(), "SUBACK");
        byte[] rest = new byte[remainingLength(in)];
        in.readFully(rest);
        assertEquals(packetId, ((rest[0] & 0xff) << 8) | (rest[1] & 0xff), "packet id");
        int at = level == 5 ? 3 + rest[2] : 2;
        java.util.List<Integer> codes = new java.util.ArrayList<>();
        for (int i = at; i < rest.length; i++) {
            codes.add(rest[i] & 0xff);
        }
        return codes;
    }

    /** Reads MQTT packets until {@code expected} PUBLISHes came, the stream ends or a read times out; returns the count. */
    public static long countPublishes(Socket socket, long expected) {
        return countPublishes(socket, expected, 0);
    }

    /** Counts PUBLISH packets, resting a millisecond after every {@code perMillisecond} of them (0: never rests). */
    public static long countPublishes(Socket socket, long expected, int perMillisecond) {
        long count = 0;
        try {
            DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(socket.getInputStream(), 65536));
            while (count < expected) {
                int type = in.readUnsignedByte();
                in.skipNBytes(remainingLength(in));
                if ((type >> 4) == 3) {
                    count++;
                    if (perMillisecond > 0 && count % perMillisecond == 0) {
                        Thread.sleep(1); // a slow reader
                    }
                }
            }
        } catch (IOException e) {
            // end of stream or silence: the count so far
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return count;
    }

    /**
     * Reads the payloads of QoS 0 PUBLISHes (as UTF-8) up to and including {@code last}; fails if the stream ends or is
     * silent for the socket's timeout first.
     */
    public static java.util.List<String> payloadsUntil(Socket socket, String last) throws IOException {
        java.util.List<String> payloads = new java.util.ArrayList<>();
        DataInputStream in = new DataInputStream(socket.getInputStream());
        while (payloads.isEmpty() || !payloads.get(payloads.size() - 1).equals(last)) {
            int type = in.readUnsignedByte();
            int length = remainingLength(in);
            byte[] body = new byte[length];
            in.readFully(body);
            if ((type >> 4) == 3) {
                int topic = ((body[0] & 0xff) << 8) | (body[1] & 0xff);
                payloads.add(new String(body, 2 + topic, length - 2 - topic, StandardCharsets.UTF_8));
            }
        }
        return payloads;
    }

    /** A packet's Remaining Length (the variable-length integer after its first byte). */
    public static int remainingLength(DataInputStream in) throws IOException {
        int length = 0;
        int shift = 0;
        int digit;
        do {
            digit = in.readUnsignedByte();
            length |= (digit & 0x7F) << shift;
            shift += 7;
        } while ((digit & 0x80) != 0);
        return length;
    }

    /** An MQTT 3.1.1 CONNECT (clean session, no keep-alive) whose client id is the bytes given. */
    public static byte[] connect(byte[] clientId) {
        return packet(0x10, concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0}, string(clientId)));
    }

    /** A SUBSCRIBE (packet id 1, QoS 0) whose filter is the bytes given. */
    public static byte[] subscribe(byte[] filter) {
        return packet(0x82, concat(new byte[] {0, 1}, string(filter), new byte[] {0}));
    }

    /** A packet: its first byte {@code type}, its Remaining Length, then {@code body}. */
    public static byte[] packet(int type, byte[] body) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(body.length + 5);
        out.write(type);
        int length = body.length;
        do {
            int digit = length % 128;
            length /= 128;
            out.write(length > 0 ? digit | 0x80 : digit);
        } while (length > 0);
        out.write(body, 0, body.length);
        return out.toByteArray();
    }

    /** An MQTT string or binary field: two bytes of length, then the bytes, well-formed UTF-8 or not. */
    public static byte[] string(byte[] utf8) {
        return concat(new byte[] {(byte) (utf8.length >> 8), (byte) utf8.length}, utf8);
    }

    /** Reads {@code socket} to its end: fails if it stays open past its read timeout (a reset counts as closed). */
    public static void assertClosed(Socket socket) throws IOException {
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

    /** The parts one after another. */
    public static byte[] concat(byte[]... parts) {
        int length = Arrays.stream(parts).mapToInt(p -> p.length).sum();
        byte[] all = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }
}
