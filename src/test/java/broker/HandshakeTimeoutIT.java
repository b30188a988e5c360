package broker;

import broker.guard.Refusals;
import broker.config.BrokerSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import firehose.Clients;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.RawMqtt;
import io.netty.channel.EventLoop;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyServerConnection;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new socket must send its first packet within {@code firehose.broker.handshake-timeout}; whether it did is decided
 * by the socket's event loop, so a loop that is behind (a reconnect storm) does not close clients that sent in time.
 */
class HandshakeTimeoutIT {

    private static final int TIMEOUT_SECONDS = 1;

    @TempDir
    Path data;

    @Test
    void a_client_that_sent_its_connect_in_time_is_served_and_kept_however_late_its_event_loop_reads_it() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0").set("firehose.broker.io-threads", "1")
                     .set("firehose.broker.handshake-timeout", String.valueOf(TIMEOUT_SECONDS)).start();
             Socket late = new Socket()) {
            int port = app.port("mqtt");
            late.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            late.setSoTimeout(20_000);
            // the listener's one event loop accepts in order: once this client has its CONNACK, the late socket is active
            // on the same loop, and its handshake timer runs
            try (Socket other = RawMqtt.publisher(port, Clients.id("other"), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)) {
                EventLoop loop = eventLoopOf(app, port);
                CountDownLatch busy = new CountDownLatch(1);
                long busyMillis = TIMEOUT_SECONDS * 3000L;
                loop.execute(() -> {
                    busy.countDown();
                    try {
                        Thread.sleep(busyMillis); // the loop is behind: it reads nothing for three times the timeout
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                assertTrue(busy.await(10, TimeUnit.SECONDS));
                // in time (the timer started well under a second ago), but read only after the timeout has passed
                late.getOutputStream().write(RawMqtt.connect(Clients.id("late").getBytes(StandardCharsets.UTF_8)));
                DataInputStream in = new DataInputStream(late.getInputStream());
                byte[] connack = new byte[4];
                in.readFully(connack);
                assertEquals(0x20, connack[0] & 0xff, "CONNACK");
                assertEquals(0, connack[3], "accepted");
                // and kept: a PINGREQ gets its PINGRESP once the loop has run everything it had queued for this socket
                loop.submit(() -> { }).get(10, TimeUnit.SECONDS);
                late.getOutputStream().write(new byte[] {(byte) 0xc0, 0});
                byte[] pingresp = new byte[2];
                in.readFully(pingresp);
                assertEquals(0xd0, pingresp[0] & 0xff, "PINGRESP");
            }
            assertEquals(0, app.broker().refused("mqtt", Refusals.HANDSHAKE_TIMEOUT));
            assertTrue(log.problems().isEmpty(), "no ERROR or WARN: " + log.problems());
        }
    }

    @Test
    void sockets_that_never_send_a_packet_are_closed_after_the_timeout_counted_with_one_log_line() throws Exception {
        int seconds = 2;
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "0")
                     .set("firehose.broker.handshake-timeout", String.valueOf(seconds)).start()) {
            List<Socket> silent = new ArrayList<>();
            long opened = System.nanoTime();
            for (int i = 0; i < 5; i++) {
                Socket socket = new Socket();
                socket.connect(new InetSocketAddress("127.0.0.1", i % 2 == 0 ? app.port("mqtt") : app.port("ws")), 5000);
                socket.setSoTimeout((seconds + 15) * 1000);
                if (i == 4) {
                    socket.getOutputStream().write(new byte[] {0x10, 0x0c}); // the start of a CONNECT, and no more
                }
                silent.add(socket);
            }
            for (Socket socket : silent) {
                RawMqtt.assertClosed(socket);
                socket.close();
            }
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - opened);
            assertTrue(elapsed >= seconds * 1000L - 100, "closed after " + elapsed + " ms, before the timeout");
            assertEquals(3, app.broker().refused("mqtt", Refusals.HANDSHAKE_TIMEOUT));
            assertEquals(2, app.broker().refused("mqtt-ws", Refusals.HANDSHAKE_TIMEOUT));
            assertTrue(app.http("/observe/metrics").body()
                    .contains("firehose_broker_connections_refused_total{listener=\"mqtt\",reason=\"handshake-timeout\"} 3.0"));
            // one line a minute for all of them (Artemis' own ERROR per socket is dropped: anyone could flood the log)
            List<LogCapture.Line> problems = log.problems();
            assertEquals(1, problems.size(), problems.toString());
            assertTrue(problems.get(0).text().contains("it sent no packet within " + seconds + " s"), problems.get(0).text());
            assertTrue(problems.get(0).text().contains("(handshake-timeout)"), problems.get(0).text());
        }
    }

    @Test
    void a_timeout_below_one_second_is_refused_at_start() {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> BrokerSettings.from(key -> Optional.ofNullable(
                        key.equals("firehose.broker.handshake-timeout") ? "0" : null), List.of(), null));
        assertEquals("firehose.broker.handshake-timeout must be at least 1, not 0", refused.getMessage());
    }

    private static EventLoop eventLoopOf(FirehoseApp app, int port) {
        for (RemotingConnection connection : app.broker().server().getRemotingService().getConnections()) {
            if (connection.getTransportConnection() instanceof NettyServerConnection netty
                    && netty.getChannel().localAddress() instanceof InetSocketAddress local && local.getPort() == port) {
                return netty.getChannel().eventLoop();
            }
        }
        throw new AssertionError("no connection on port " + port);
    }
}
