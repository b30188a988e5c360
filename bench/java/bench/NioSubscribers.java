package bench;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ObjLongConsumer;

/**
 * Many MQTT 3.1.1 subscribers (QoS 0 or 1) on one selector thread, over TCP or WebSocket, so that thousands of them
 * cost the machine little next to the broker being measured. Each PUBLISH payload is handed to a callback with
 * the subscriber's index and its arrival time. QoS 1 deliveries are acknowledged.
 */
final class NioSubscribers implements AutoCloseable {

    /** Receives each payload; runs on the selector thread. */
    interface Delivery {
        void accept(int subscriber, ByteBuffer payload, long nanoTime);
    }

    private static final AtomicInteger IDS = new AtomicInteger();

    private final Selector selector = Selector.open();
    private final List<SocketChannel> channels = new ArrayList<>();
    private final Thread loop;
    private final CountDownLatch subscribed;
    /** Each subscriber's client id, by index. */
    private final String[] clientIds;
    /** SUBACKs whose return code was a failure (0x80): subscribers that will receive nothing. */
    private final java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean running = true;
    private volatile Throwable failure;

    NioSubscribers(String host, int port, int count, String filter, ObjLongConsumer<ByteBuffer> onPayload) throws IOException {
        this(host, port, count, 0, filter, 0, 0, (subscriber, payload, now) -> onPayload.accept(payload, now));
    }

    /** {@code count} subscribers on {@code port} (TCP) and {@code wsCount} on {@code wsPort} (WebSocket, path /mqtt), mixed evenly. */
    NioSubscribers(String host, int port, int count, int wsPort, String filter, int qos, int wsCount, Delivery onPayload) throws IOException {
        this(host, port, count, wsPort, filter, qos, wsCount, 0, null, onPayload);
    }

    /**
     * As above; with {@code parallel} > 0, that many threads connect, and each waits for its client's CONNACK and SUBACK
     * before the next (1: one client after another, as a reconnect storm of plain clients does), and
     * {@code subscribedAt} (if given) gets the {@code System.nanoTime()} of each client's SUBACK. With 0, 32 threads
     * write CONNECT and SUBSCRIBE without waiting, and the acknowledgements are read by the selector thread.
     */
    NioSubscribers(String host, int port, int count, int wsPort, String filter, int qos, int wsCount, int parallel,
                   long[] subscribedAt, Delivery onPayload) throws IOException {
        this(host, new int[] {port}, count, wsPort, filter, qos, wsCount, parallel, subscribedAt, onPayload);
    }

    /** As above, the TCP subscribers spread over {@code ports} in turn (e.g. the nodes of a cluster). */
    NioSubscribers(String host, int[] ports, int count, int wsPort, String filter, int qos, int wsCount, int parallel,
                   long[] subscribedAt, Delivery onPayload) throws IOException {
        int total = count + wsCount;
        subscribed = new CountDownLatch(total);
        SocketChannel[] opened = new SocketChannel[total];
        clientIds = new String[total];
        java.util.concurrent.ExecutorService connectors = java.util.concurrent.Executors.newFixedThreadPool(parallel > 0 ? parallel : 32);
        List<java.util.concurrent.Future<?>> done = new ArrayList<>();
        AtomicInteger next = new AtomicInteger();
        for (int t = 0; t < (parallel > 0 ? parallel : total); t++) {
            int single = t;
            done.add(connectors.submit(() -> {
                for (int i = parallel > 0 ? next.getAndIncrement() : single; i < total; i = parallel > 0 ? next.getAndIncrement() : total) {
                    boolean ws = webSocket(i, total, wsCount);
                    SocketChannel channel = SocketChannel.open(new InetSocketAddress(host, ws ? wsPort : ports[i % ports.length]));
                    channel.socket().setTcpNoDelay(true);
                    if (ws) {
                        handshake(channel, host, wsPort);
                    }
                    clientIds[i] = "bench-" + ProcessHandle.current().pid() + "-" + IDS.incrementAndGet();
                    byte[] connect = connect(clientIds[i]);
                    byte[] subscribe = subscribe(filter, qos);
                    write(channel, ws ? frame(connect) : connect);
                    if (parallel > 0) {
                        expect(channel, ws, 2, "CONNACK");
                    }
                    write(channel, ws ? frame(subscribe) : subscribe);
                    if (parallel > 0) {
                        if (expect(channel, ws, 9, "SUBACK") == (byte) 0x80) {
                            refused.incrementAndGet();
                        }
                        subscribed.countDown();
                        if (subscribedAt != null) {
                            subscribedAt[i] = System.nanoTime();
                        }
                    }
                    channel.configureBlocking(false);
                    opened[i] = channel;
                }
                return null;
            }));
        }
        try {
            for (java.util.concurrent.Future<?> f : done) {
                f.get();
            }
        } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
            throw new IOException("connecting subscribers: " + e.getCause(), e);
        } finally {
            connectors.shutdown();
        }
        for (int i = 0; i < opened.length; i++) {
            opened[i].register(selector, SelectionKey.OP_READ, new Reader(i, webSocket(i, total, wsCount), onPayload,
                    parallel > 0 ? new CountDownLatch(0) : subscribed, refused));
            channels.add(opened[i]);
        }
        loop = new Thread(this::run, "nio-subscribers");
        loop.start();
    }

    /** Whether subscriber {@code i} of {@code total} is one of the {@code wsCount} WebSocket ones, spread evenly. */
    private static boolean webSocket(int i, int total, int wsCount) {
        return (long) (i + 1) * wsCount / total != (long) i * wsCount / total;
    }

    /**
     * Blocking: reads one packet (in one WebSocket frame if {@code ws}), checks its type and returns its last byte (a
     * SUBACK's return code for one filter).
     */
    private static byte expect(SocketChannel channel, boolean ws, int type, String name) throws IOException {
        if (ws) {
            ByteBuffer head = read(channel, 2);
            int len = head.get(1) & 0x7f;
            if (len >= 126) {
                len = read(channel, len == 126 ? 2 : 8).getShort() & 0xffff;
            }
            ByteBuffer body = read(channel, len);
            if (len == 0 || (body.get(0) & 0xff) >> 4 != type) {
                throw new IOException("expected " + name + " in a WebSocket frame of " + len + " bytes");
            }
            return body.get(len - 1);
        }
        ByteBuffer head = read(channel, 2);
        if ((head.get(0) & 0xff) >> 4 != type) {
            throw new IOException("expected " + name + ", got packet type " + ((head.get(0) & 0xff) >> 4));
        }
        int len = head.get(1) & 0x7f;
        ByteBuffer body = read(channel, len);
        return len == 0 ? 0 : body.get(len - 1);
    }

    private static ByteBuffer read(SocketChannel channel, int n) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(n);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new IOException("connection closed by the broker");
            }
        }
        return buffer.flip();
    }

    /** Closes subscribers {@code from} (inclusive) to {@code to} (exclusive) at once, without DISCONNECT (a network drop). */
    void drop(int from, int to) throws IOException {
        for (int i = from; i < to; i++) {
            channels.get(i).close();
        }
    }

    private void run() {
        try {
            while (running) {
                selector.select(200);
                for (SelectionKey key : selector.selectedKeys()) {
                    ((Reader) key.attachment()).read((SocketChannel) key.channel(), System.nanoTime());
                }
                selector.selectedKeys().clear();
            }
        } catch (IOException | RuntimeException e) {
            if (running) {
                failure = e;
                e.printStackTrace();
            }
        }
    }

    /** Why the selector thread stopped early, if it did: the figures are then worthless. */
    Throwable failure() {
        return failure;
    }

    /** Waits for every SUBACK. */
    void awaitSubscribed(long seconds) throws InterruptedException {
        if (!subscribed.await(seconds, TimeUnit.SECONDS)) {
            throw new IllegalStateException(subscribed.getCount() + " subscriptions not acknowledged");
        }
    }

    /** The client id of subscriber {@code index}. */
    String clientId(int index) {
        return clientIds[index];
    }

    /** Subscriptions the broker refused (SUBACK 0x80). */
    long refused() {
        return refused.get();
    }

    /** Connections the broker closed. */
    long closed() {
        return channels.stream().filter(c -> !c.isOpen()).count();
    }

    /** True when the broker closed subscriber {@code index}'s connection. */
    boolean closed(int index) {
        return !channels.get(index).isOpen();
    }

    @Override
    public void close() throws Exception {
        running = false;
        loop.join(5000);
        for (SocketChannel channel : channels) {
            channel.close();
        }
        selector.close();
    }

    private static void write(SocketChannel channel, byte[] bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** The HTTP upgrade to WebSocket, subprotocol mqtt; blocking, before the channel joins the selector. */
    private static void handshake(SocketChannel channel, String host, int port) throws IOException {
        write(channel, ("GET /mqtt HTTP/1.1\r\nHost: " + host + ":" + port + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        ByteBuffer one = ByteBuffer.allocate(1);
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            one.clear();
            if (channel.read(one) < 0) {
                throw new IOException("WebSocket handshake: connection closed after " + head);
            }
            head.append((char) one.get(0));
        }
        if (!head.toString().startsWith("HTTP/1.1 101")) {
            throw new IOException("WebSocket handshake refused: " + head.toString().lines().findFirst().orElse(""));
        }
    }

    /** One masked binary WebSocket frame (a client must mask; a zero key leaves the bytes as they are). */
    static byte[] frame(byte[] payload) {
        int header = payload.length < 126 ? 2 : 4;
        ByteBuffer out = ByteBuffer.allocate(header + 4 + payload.length);
        out.put((byte) 0x82);
        if (payload.length < 126) {
            out.put((byte) (0x80 | payload.length));
        } else {
            out.put((byte) (0x80 | 126)).putShort((short) payload.length);
        }
        out.putInt(0).put(payload);
        return out.array();
    }

    /**
     * Sends a CONNECT as {@code user} on {@code socket} (through {@code out}) and reads its CONNACK; the connection's input
     * from then on (PUBACKs, …). Throws when the broker refuses it.
     */
    static DataInputStream connected(Socket socket, OutputStream out, String clientId, String user, String password) throws IOException {
        out.write(connect(clientId, user, password));
        out.flush();
        DataInputStream in = new DataInputStream(socket.getInputStream());
        byte[] connack = new byte[4];
        in.readFully(connack);
        if (connack[0] != 0x20 || connack[3] != 0) {
            throw new IOException("CONNACK refused, code " + connack[3]);
        }
        return in;
    }

    static byte[] connect(String clientId) {
        return connect(clientId, null, null);
    }

    /** CONNECT, MQTT 3.1.1, clean session, no keepalive. */
    static byte[] connect(String clientId, String user, String password) {
        byte[] id = clientId.getBytes(StandardCharsets.UTF_8);
        byte[] u = user == null ? new byte[0] : user.getBytes(StandardCharsets.UTF_8);
        byte[] p = password == null ? new byte[0] : password.getBytes(StandardCharsets.UTF_8);
        int flags = 0x02 | (user != null ? 0x80 : 0) | (password != null ? 0x40 : 0);
        ByteBuffer body = ByteBuffer.allocate(12 + id.length + 2 + u.length + 2 + p.length);
        body.put(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, (byte) flags, 0, 0});
        body.putShort((short) id.length).put(id);
        if (user != null) {
            body.putShort((short) u.length).put(u);
        }
        if (password != null) {
            body.putShort((short) p.length).put(p);
        }
        return packet(0x10, java.util.Arrays.copyOf(body.array(), body.position()));
    }

    private static byte[] subscribe(String filter, int qos) {
        byte[] f = filter.getBytes(StandardCharsets.UTF_8);
        ByteBuffer body = ByteBuffer.allocate(5 + f.length);
        body.putShort((short) 1).putShort((short) f.length).put(f).put((byte) qos);
        return packet(0x82, body.array());
    }

    static byte[] packet(int type, byte[] body) {
        ByteBuffer out = ByteBuffer.allocate(5 + body.length);
        out.put((byte) type);
        int length = body.length;
        do {
            int digit = length % 128;
            length /= 128;
            out.put((byte) (length > 0 ? digit | 0x80 : digit));
        } while (length > 0);
        out.put(body);
        byte[] bytes = new byte[out.position()];
        out.flip().get(bytes);
        return bytes;
    }

    /** Splits one connection's bytes (unwrapping WebSocket frames) into MQTT packets and hands PUBLISH payloads on. */
    private static final class Reader {
        private final int index;
        private final boolean ws;
        private final Delivery onPayload;
        private final CountDownLatch subscribed;
        private final java.util.concurrent.atomic.AtomicLong refused;
        private ByteBuffer raw = ByteBuffer.allocate(64 * 1024);
        private ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
        private long frameLeft;

        Reader(int index, boolean ws, Delivery onPayload, CountDownLatch subscribed, java.util.concurrent.atomic.AtomicLong refused) {
            this.refused = refused;
            this.index = index;
            this.ws = ws;
            this.onPayload = onPayload;
            this.subscribed = subscribed;
        }

        void read(SocketChannel channel, long now) throws IOException {
            ByteBuffer target = ws ? raw : buffer;
            int n;
            try {
                n = channel.read(target);
            } catch (IOException e) {
                n = -1;
            }
            if (n < 0) {
                channel.close();
                return;
            }
            if (ws) {
                unframe();
            }
            buffer.flip();
            while (true) {
                int start = buffer.position();
                if (buffer.remaining() < 2) {
                    break;
                }
                int type = buffer.get() & 0xff;
                int length = 0;
                int multiplier = 1;
                boolean complete = false;
                while (buffer.hasRemaining()) {
                    int digit = buffer.get() & 0xff;
                    length += (digit & 0x7f) * multiplier;
                    multiplier *= 128;
                    if ((digit & 0x80) == 0) {
                        complete = true;
                        break;
                    }
                }
                if (!complete || buffer.remaining() < length) {
                    buffer.position(start);
                    if (complete && 5 + length > buffer.capacity()) {
                        ByteBuffer bigger = ByteBuffer.allocate(5 + length + 1024);
                        bigger.put(buffer);
                        buffer = bigger;
                        return;
                    }
                    break;
                }
                int end = buffer.position() + length;
                if ((type >> 4) == 9) {
                    if (buffer.get(end - 1) == (byte) 0x80) {
                        refused.incrementAndGet();
                    }
                    subscribed.countDown();
                }
                if ((type >> 4) == 3) {
                    int qos = (type >> 1) & 3;
                    int topicLength = buffer.getShort() & 0xffff;
                    buffer.position(buffer.position() + topicLength);
                    int packetId = qos > 0 ? buffer.getShort() & 0xffff : 0;
                    onPayload.accept(index, buffer.slice(buffer.position(), end - buffer.position()), now);
                    if (qos == 1) {
                        byte[] ack = {0x40, 2, (byte) (packetId >> 8), (byte) packetId};
                        write(channel, ws ? frame(ack) : ack);
                    }
                }
                buffer.position(end);
            }
            buffer.compact();
        }

        /** Moves the payload bytes of whole or partial server frames (unmasked) from {@code raw} into {@code buffer}. */
        private void unframe() {
            raw.flip();
            while (raw.hasRemaining()) {
                if (frameLeft == 0) {
                    int start = raw.position();
                    if (raw.remaining() < 2) {
                        break;
                    }
                    raw.get(); // FIN and opcode: binary or continuation, all payload to MQTT
                    int len = raw.get() & 0x7f;
                    if (len == 126) {
                        if (raw.remaining() < 2) {
                            raw.position(start);
                            break;
                        }
                        len = raw.getShort() & 0xffff;
                    } else if (len == 127) {
                        if (raw.remaining() < 8) {
                            raw.position(start);
                            break;
                        }
                        len = (int) raw.getLong();
                    }
                    frameLeft = len;
                    continue;
                }
                if (!buffer.hasRemaining()) {
                    ByteBuffer bigger = ByteBuffer.allocate(buffer.capacity() * 2);
                    buffer.flip();
                    bigger.put(buffer);
                    buffer = bigger;
                }
                int n = (int) Math.min(frameLeft, Math.min(raw.remaining(), buffer.remaining()));
                buffer.put(raw.slice(raw.position(), n));
                raw.position(raw.position() + n);
                frameLeft -= n;
            }
            raw.compact();
        }
    }
}
