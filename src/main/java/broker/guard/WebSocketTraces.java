package broker.guard;

import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;

/**
 * Standard error without the stack traces Artemis' WebSocket handler prints for corrupt frames, while a broker with a
 * WebSocket listener runs. Its {@code WebSocketServerHandler.exceptionCaught} calls {@code printStackTrace()}: past the
 * log configuration, twenty lines for each connection that sends a corrupt frame. Firehose's own handlers catch such
 * frames once the connection's first MQTT packet has arrived ({@link MalformedInput#frameErrors()}); a corrupt first
 * frame reaches only Artemis' handler. Nothing of Firehose's reaches a WebSocket connection before its first MQTT
 * packet: Artemis' protocol detector adds the WebSocket handler when it reads the HTTP upgrade and hands the connection
 * to the MQTT protocol manager only with the first frame's content, and its acceptor's channel initializer, the
 * detector and the handler offer no hook, configuration or factory (checked against Artemis 2.55.0). So the trace is
 * dropped here, and the connection (which Netty has closed) is counted and logged as {@link Refusals} does for any
 * malformed packet: one line a minute. Everything else written to standard error passes unchanged.
 * <p>
 * A {@link Throwable} prints itself with {@code println(Object)} under the stream's lock, its own line first, then
 * one line per frame, cause and suppressed exception, each starting with a tab or a caption: those lines are dropped
 * on the printing thread until another line comes.
 * <p>
 * What it costs: {@code System.err} is one stream for the whole JVM, so while a broker runs everything any thread
 * writes there goes through this stream into the one it replaced (encoded twice, flushed at each line, a thread-local
 * read per {@code println(Object)}), and a corrupt-frame trace printed by anything else is dropped too. It is put in
 * place when the first broker starts and the stream it replaced is put back when the last one stops, unless something
 * else has replaced standard error meanwhile: that stream is left alone (it may write into this one, which then only
 * passes lines on).
 */
public final class WebSocketTraces extends PrintStream {

    /** Artemis names its Netty threads after the acceptor: "Thread-3 (activemq-remoting-mqtt-ws-firehose)". */
    private static final Pattern ACCEPTOR = Pattern.compile("activemq-remoting-(.+)-[^-]+\\)");
    /** The brokers running with it, the one started last counting what it drops. Guarded by the class. */
    private static final Deque<Refusals> USERS = new ArrayDeque<>();
    private static volatile Refusals refusals;
    private static WebSocketTraces installed;

    private final PrintStream err;
    private final ThreadLocal<Boolean> dropping = ThreadLocal.withInitial(() -> false);

    private WebSocketTraces(PrintStream err) {
        super(err, true);
        this.err = err;
    }

    /** Puts the filter in front of standard error if it is not there; the broker started last counts what it drops. */
    static synchronized void install(Refusals counter) {
        USERS.addLast(counter);
        refusals = counter;
        if (installed == null || System.err != installed) {
            installed = new WebSocketTraces(System.err);
            System.setErr(installed);
        }
    }

    /** A broker stops: the one started before it counts; the last one puts standard error back as it found it. */
    static synchronized void uninstall(Refusals counter) {
        if (!USERS.removeLastOccurrence(counter)) {
            return;
        }
        refusals = USERS.peekLast();
        if (USERS.isEmpty() && installed != null) {
            if (System.err == installed) {
                System.setErr(installed.err);
            }
            installed = null;
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
