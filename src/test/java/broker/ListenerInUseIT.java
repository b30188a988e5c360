package broker;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;

import firehose.FirehoseApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A listener port already taken stops the start at once, naming the listener. */
class ListenerInUseIT {

    @TempDir
    Path data;

    @Test
    void a_taken_port_fails_the_start_at_once_and_names_the_listener() throws Exception {
        FirehoseApp.Builder builder = FirehoseApp.builder(data);
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            builder.set("firehose.broker.ws-port", String.valueOf(taken.getLocalPort()));
            String messages = messages(assertThrows(Exception.class, builder::start));
            // a start that waited for the broker's activation first would fail with "did not become active within 30 s"
            String expected = "cannot listen for mqtt-ws on 127.0.0.1:" + taken.getLocalPort() + " (is the port in use?)";
            assertTrue(messages.contains(expected), messages);
        }
    }

    private static String messages(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            text.append(t.getMessage()).append(" / ");
        }
        return text.toString();
    }
}
