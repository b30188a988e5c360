package broker;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import broker.guard.Refusals;
import firehose.Await;
import firehose.FirehoseApp;
import firehose.RawMqtt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Artemis prints the stack trace of a corrupt first WebSocket frame to standard error; while a broker runs, standard
 * error drops it (WebSocketTraces), and once the last broker has stopped it is the stream it was before.
 */
class WebSocketTracesIT {

    @TempDir
    Path first;
    @TempDir
    Path second;

    @Test
    void standard_error_drops_corrupt_frame_traces_while_brokers_run_and_is_the_same_stream_after_the_last_stops() throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream before = new PrintStream(printed, true, StandardCharsets.UTF_8);
        System.setErr(before);
        try {
            FirehoseApp one = FirehoseApp.builder(first).set("firehose.broker.sys-interval", "0").start();
            FirehoseApp two = null;
            try {
                assertNotSame(before, System.err, "standard error is filtered while a broker with a WebSocket listener runs");
                corruptFirstFrame(one.port("ws"));
                Await.until(Duration.ofSeconds(10), () -> one.broker().refused("mqtt-ws", Refusals.MALFORMED_PACKET) == 1,
                        () -> "counted: " + one.broker().refused("mqtt-ws", Refusals.MALFORMED_PACKET));
                System.err.println("a line of someone else's");

                two = FirehoseApp.builder(second).set("firehose.broker.sys-interval", "0").start();
                one.close();
                assertNotSame(before, System.err, "still filtered: the second broker runs");
                corruptFirstFrame(two.port("ws"));
                FirehoseApp running = two;
                Await.until(Duration.ofSeconds(10), () -> running.broker().refused("mqtt-ws", Refusals.MALFORMED_PACKET) == 1,
                        () -> "counted by the broker still running: " + running.broker().refused("mqtt-ws", Refusals.MALFORMED_PACKET));
            } finally {
                one.close();
                if (two != null) {
                    two.close();
                }
            }
            assertSame(before, System.err, "once the last broker stopped, standard error is the stream it was before");
            String text = printed.toString(StandardCharsets.UTF_8);
            assertTrue(text.contains("a line of someone else's"), "other lines pass: " + text);
            assertTrue(text.lines().noneMatch(l -> l.contains("CorruptedWebSocketFrameException") || l.startsWith("\tat ")),
                    "no stack trace printed: " + text);
        } finally {
            System.setErr(original);
        }
    }

    /** Upgrades to WebSocket, then sends a frame with its reserved bits set as the first frame; waits for the close. */
    private static void corruptFirstFrame(int port) throws IOException {
        byte[] upgrade = ("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(5000);
            socket.getOutputStream().write(upgrade);
            InputStream in = socket.getInputStream();
            StringBuilder response = new StringBuilder();
            for (int b = in.read(); b >= 0 && response.length() < 4096; b = in.read()) {
                response.append((char) b);
                if (response.toString().endsWith("\r\n\r\n")) {
                    break;
                }
            }
            assertTrue(response.toString().startsWith("HTTP/1.1 101"), "switched to WebSocket: " + response);
            socket.getOutputStream().write(new byte[] {(byte) 0xF2, (byte) 0x84, 1, 2, 3, 4, 5, 6, 7, 8});
            RawMqtt.assertClosed(socket);
        }
    }
}
