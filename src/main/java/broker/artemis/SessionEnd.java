package broker.artemis;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.activemq.artemis.api.core.ActiveMQDisconnectedException;
import org.apache.activemq.artemis.core.io.IOCallback;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTConnection;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyConnection;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends every MQTT client's session before the broker stops, as if its connection had dropped: a clean session's
 * subscription queue is deleted, a will is sent, while the journal (and any cluster link) still runs.
 * <p>
 * Artemis closes the connections while it stops and ends their sessions on its thread pool, whenever that gets to them:
 * usually after the broker stopped (nothing left to delete), sometimes after the journal stopped but before the queues
 * went, and then each such client logs an ERROR (AMQ834000 "Error removing subscription", "IDGenerator has been
 * stopped"). Here each connection fails on its own event loop (where its packets are read, so never while one is
 * handled), all loops at once, and the stop waits for them and for what their ends wrote to the journal, within a
 * bound. docs/artemis-changes.md row 32.
 */
public final class SessionEnd {

    private static final Logger LOG = LoggerFactory.getLogger(SessionEnd.class);

    private SessionEnd() {
    }

    /** Stops accepting and ends every MQTT connection's session; waits {@code boundMillis} at most, and says so if it gave up. */
    public static void endAll(ActiveMQServer server, long boundMillis) throws InterruptedException {
        server.getRemotingService().pauseAcceptors();
        // by class, not by protocol name: Artemis names an MQTT 5 connection "MQTT5" once it has connected
        List<RemotingConnection> clients = server.getRemotingService().getConnections().stream()
                .filter(connection -> connection instanceof MQTTConnection).toList();
        CountDownLatch ended = new CountDownLatch(clients.size());
        for (RemotingConnection client : clients) {
            Runnable end = () -> {
                boolean waiting = false;
                try {
                    client.fail(new ActiveMQDisconnectedException("the broker is stopping"));
                    // what the session's end wrote (an MQTT 5 or persistent session's queue, its session record) is
                    // finished, and so is what that starts once written (deleting their messages), before the journal
                    // stops: this thread's storage context holds it
                    server.getStorageManager().afterCompleteOperations(new IOCallback() {
                        @Override
                        public void done() {
                            ended.countDown();
                        }

                        @Override
                        public void onError(int code, String message) {
                            ended.countDown();
                        }
                    });
                    waiting = true;
                } finally {
                    if (!waiting) {
                        ended.countDown();
                    }
                }
            };
            if (client.getTransportConnection() instanceof NettyConnection netty) {
                try {
                    netty.getChannel().eventLoop().execute(end);
                } catch (RejectedExecutionException loopGone) {
                    end.run();
                }
            } else {
                end.run();
            }
        }
        if (!ended.await(boundMillis, TimeUnit.MILLISECONDS)) {
            LOG.warn("Stopping with {} of {} MQTT sessions not yet ended after {} ms", ended.getCount(), clients.size(),
                    boundMillis);
        }
    }
}
