package bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ObjLongConsumer;

/**
 * Many MQTT 3.1.1 subscribers (QoS 0) on one selector thread, so that a thousand of them cost the machine
 * little next to the broker being measured. Each PUBLISH payload is handed to a callback with its arrival time.
 */
final class NioSubscribers implements AutoCloseable {

    private final Selector selector = Selector.open();
    private final List<SocketChannel> channels = new ArrayList<>();
    private static final java.util.concurrent.atomic.AtomicInteger IDS = new java.util.concurrent.atomic.AtomicInteger();

    private final Thread loop;
    private final java.util.concurrent.CountDownLatch subscribed;
    private volatile boolean running = true;

    NioSubscribers(String host, int port, int count, String filter, ObjLongConsumer<ByteBuffer> onPayload) throws IOException {
        subscribed = new java.util.concurrent.CountDownLatch(count);
        for (int i = 0; i < count; i++) {
            SocketChannel channel = SocketChannel.open(new InetSocketAddress(host, port));
            channel.socket().setTcpNoDelay(true);
            channel.write(ByteBuffer.wrap(connect("bench-" + ProcessHandle.current().pid() + "-" + IDS.incrementAndGet())));
            channel.write(ByteBuffer.wrap(subscribe(filter)));
            channel.configureBlocking(false);
            channel.register(selector, SelectionKey.OP_READ, new Reader(onPayload, subscribed));
            channels.add(channel);
        }
        loop = new Thread(this::run, "nio-subscribers");
        loop.start();
    }

    private void run() {
        try {
            while (running) {
                selector.select(200);
                long now = System.nanoTime();
                for (SelectionKey key : selector.selectedKeys()) {
                    ((Reader) key.attachment()).read((SocketChannel) key.channel(), now);
                }
                selector.selectedKeys().clear();
            }
        } catch (IOException e) {
            if (running) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Waits for every SUBACK. */
    void awaitSubscribed(long seconds) throws InterruptedException {
        if (!subscribed.await(seconds, java.util.concurrent.TimeUnit.SECONDS)) {
            throw new IllegalStateException(subscribed.getCount() + " subscriptions not acknowledged");
        }
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

    private static byte[] connect(String clientId) {
        byte[] id = clientId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer body = ByteBuffer.allocate(12 + id.length);
        body.put(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0});
        body.putShort((short) id.length).put(id);
        return packet(0x10, body.array());
    }

    private static byte[] subscribe(String filter) {
        byte[] f = filter.getBytes(StandardCharsets.UTF_8);
        ByteBuffer body = ByteBuffer.allocate(5 + f.length);
        body.putShort((short) 1).putShort((short) f.length).put(f).put((byte) 0);
        return packet(0x82, body.array());
    }

    private static byte[] packet(int type, byte[] body) {
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

    /** Splits one connection's bytes into MQTT packets and hands PUBLISH payloads on. */
    private static final class Reader {
        private final ObjLongConsumer<ByteBuffer> onPayload;
        private final java.util.concurrent.CountDownLatch subscribed;
        private ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);

        Reader(ObjLongConsumer<ByteBuffer> onPayload, java.util.concurrent.CountDownLatch subscribed) {
            this.onPayload = onPayload;
            this.subscribed = subscribed;
        }

        void read(SocketChannel channel, long now) throws IOException {
            if (channel.read(buffer) < 0) {
                channel.close();
                return;
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
                    subscribed.countDown();
                }
                if ((type >> 4) == 3) {
                    int topicLength = buffer.getShort() & 0xffff;
                    buffer.position(buffer.position() + topicLength + (((type >> 1) & 3) > 0 ? 2 : 0));
                    ByteBuffer payload = buffer.slice(buffer.position(), end - buffer.position());
                    onPayload.accept(payload, now);
                }
                buffer.position(end);
            }
            buffer.compact();
        }
    }
}
