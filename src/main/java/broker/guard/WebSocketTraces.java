package broker.guard;

import java.io.PrintStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;

/**
 * Standard error without the stack traces Artemis' WebSocket handler prints for corrupt frames. Its
 * {@code WebSocketServerHandler.exceptionCaught} calls {@code printStackTrace()}: past the log configuration, twenty
 * lines for each connection that sends a corrupt frame. Firehose's own handlers catch such frames once the connection's
 * first MQTT packet has arrived ({@link MalformedInput#frameErrors()}); a corrupt first frame reaches only Artemis' handler,
 * and no configuration, plugin or subclass reaches into a connection before its first MQTT packet. So the trace is
 * dropped here, and the connection (which Netty has closed) is counted and logged as {@link Refusals} does for any
 * malformed packet: one line a minute. Everything else written to standard error passes unchanged.
 * <p>
 * A {@link Throwable} prints itself with {@code println(Object)} under the stream's lock, its own line first, then
 * one line per frame, cause and suppressed exception, each starting with a tab or a caption: those lines are dropped
 * on the printing thread until another line comes.
 */
public final class WebSocketTraces extends PrintStream {

    /** Artemis names its Netty threads after the acceptor: "Thread-3 (activemq-remoting-mqtt-ws-firehose)". */
    private static final Pattern ACCEPTOR = Pattern.compile("activemq-remoting-(.+)-[^-]+\\)");
    private static volatile Refusals refusals;
    private static WebSocketTraces installed;

    private final PrintStream err;
    private final ThreadLocal<Boolean> dropping = ThreadLocal.withInitial(() -> false);

    private WebSocketTraces(PrintStream err) {
        super(err, true);
        this.err = err;
    }

    /** Puts the filter in front of standard error once per JVM; the broker started last counts what it drops. */
    static synchronized void install(Refusals counter) {
        refusals = counter;
        if (installed == null || System.err != installed) {
            installed = new WebSocketTraces(System.err);
            System.setErr(installed);
        }
    }

    /** The broker counting stops (another may have taken over). */
    static synchronized void uninstall(Refusals counter) {
        if (refusals == counter) {
            refusals = null;
        }
    }

    @Override
    public synchronized void println(Object x) {
        if (x instanceof CorruptedWebSocketFrameException corrupt) {
            dropping.set(true);
            Refusals counter = refusals;
            if (counter != null) {
                counter.closed(listener(), Refusals.MALFORMED_PACKET, "?", "not a WebSocket frame (" + corrupt.getMessage() + ")");
            }
            return;
        }
        if (dropping.get()) {
            String line = String.valueOf(x);
            if (line.startsWith("\t") || line.startsWith("Caused by: ") || line.startsWith("Suppressed: ")) {
                return;
            }
            dropping.set(false);
        }
        err.println(x);
    }

    private static String listener() {
        Matcher name = ACCEPTOR.matcher(Thread.currentThread().getName());
        return name.find() ? name.group(1) : "mqtt-ws";
    }
}
