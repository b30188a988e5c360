package firehose;

import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Once the application is stopped, nothing of it keeps running: its own MQTT clients do not try to reconnect. */
class StopIT {

    @TempDir
    Path data;

    @Test
    void the_routes_clients_do_not_reconnect_after_the_application_stopped() throws Exception {
        FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "1").start();
        int port = app.port("mqtt");
        app.close();
        assertNobodyConnects(port);
    }

    @Test
    void clients_that_were_reconnecting_when_the_application_stopped_give_up() throws Exception {
        FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "1").start();
        int port = app.port("mqtt");
        app.broker().stop(); // the routes' clients lose the broker and start reconnecting
        Thread.sleep(1500); // let them try at least once (Paho: 1 s, then doubling)
        app.close();
        assertNobodyConnects(port);
    }

    private static void assertNobodyConnects(int port) throws Exception {
        // the broker's port, now taken by a listener that records any connection attempt (Paho retries within 1-5 s)
        try (ServerSocket listener = new ServerSocket()) {
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            listener.setSoTimeout(8_000);
            Socket attempt = null;
            try {
                attempt = listener.accept();
            } catch (SocketTimeoutException quiet) {
                // nobody came: as it should be
            }
            try (Socket close = attempt) {
                String connect = "";
                if (attempt != null) {
                    attempt.setSoTimeout(2000);
                    byte[] packet = new byte[256];
                    int read = attempt.getInputStream().read(packet);
                    connect = new String(packet, 0, Math.max(0, read), java.nio.charset.StandardCharsets.ISO_8859_1).replaceAll("[^\\x20-\\x7e]", ".");
                }
                assertNull(attempt, "a client of the stopped application connected again: " + connect);
            } catch (IOException ignored) {
                // closing the attempt
            }
        }
    }
}
