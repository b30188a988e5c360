package gerrit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/**
 * A loopback TCP relay whose existing connections can be frozen: bytes stop flowing both ways but the sockets stay
 * open, as with a server that hangs or a firewall that silently drops a connection. New connections flow again.
 */
final class FreezableProxy implements AutoCloseable {

    private final ServerSocket server;
    private final int target;
    private final List<Pair> pairs = new CopyOnWriteArrayList<>();

    FreezableProxy(int targetPort) throws IOException {
        this.target = targetPort;
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread accept = new Thread(this::accept, "proxy-accept");
        accept.setDaemon(true);
        accept.start();
    }

    int port() {
        return server.getLocalPort();
    }

    void freeze() {
        pairs.forEach(p -> p.frozen = true);
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket("127.0.0.1", target);
                Pair pair = new Pair(client, upstream);
                pairs.add(pair);
                pump(pair, client.getInputStream(), upstream.getOutputStream());
                pump(pair, upstream.getInputStream(), client.getOutputStream());
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void pump(Pair pair, InputStream in, OutputStream out) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try {
                for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                    if (pair.frozen) {
                        pair.thaw.await(); // hold the bytes and everything after them, keep the socket open
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // connection over
            } finally {
                pair.close();
            }
        }, "proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
        pairs.forEach(Pair::close);
    }

    private static final class Pair {
        final Socket a;
        final Socket b;
        final CountDownLatch thaw = new CountDownLatch(1);
        volatile boolean frozen;

        Pair(Socket a, Socket b) {
            this.a = a;
            this.b = b;
        }

        void close() {
            thaw.countDown();
            try {
                a.close();
                b.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
