package broker.artemis;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import org.apache.activemq.artemis.core.persistence.OperationContext;
import org.apache.activemq.artemis.core.persistence.impl.journal.OperationContextImpl;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyConnection;
import org.apache.activemq.artemis.core.server.Consumer;
import org.apache.activemq.artemis.core.server.ServerConsumer;
import org.apache.activemq.artemis.core.server.impl.ActiveMQServerImpl;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerConsumerPlugin;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.apache.activemq.artemis.utils.ExecutorFactory;
import org.apache.activemq.artemis.utils.actors.OrderedExecutor;

/**
 * Each subscription queue delivers on the Netty event loop of its subscriber's connection. Artemis runs a queue's
 * deliveries on its shared thread pool, and each write is then handed to the connection's event loop: two thread
 * hand-offs per message per subscriber. On the event loop the write goes straight to the socket, and a subscriber
 * that cannot keep up holds back only its own queue (which then drops its oldest messages) instead of growing
 * Netty's outbound buffer. A queue keeps Artemis' ordered executor (one task at a time, in order); only the thread
 * it runs on changes, and it goes back to the pool when its last consumer leaves or the event loop has stopped.
 */
public final class EventLoopDelivery implements ActiveMQServerConsumerPlugin {

    private volatile ActiveMQServerImpl server;

    /**
     * The executors of the starting broker's queues: switchable ones. Asked for when Artemis has built its own queue
     * factory and before it reads its journal (which creates the queues of persistent sessions).
     */
    ExecutorFactory executors(ActiveMQServerImpl server) {
        this.server = server;
        Executor pool = server.getThreadPool();
        return () -> new QueueExecutor(new SwitchableExecutor(pool, server.newOperationContext()));
    }

    @Override
    public void afterCreateConsumer(ServerConsumer consumer) {
        if (consumer.getQueue().getExecutor() instanceof QueueExecutor executor) {
            executor.target.runOn(eventLoopOf(consumer));
        }
    }

    /** The queue follows another of its consumers (a shared subscription), or goes back to the pool. */
    @Override
    public void afterCloseConsumer(ServerConsumer closed, boolean failed) {
        if (closed.getQueue().getExecutor() instanceof QueueExecutor executor) {
            Executor next = null;
            for (Consumer consumer : closed.getQueue().getConsumers()) {
                if (consumer != closed && consumer instanceof ServerConsumer other && next == null) {
                    next = eventLoopOf(other);
                }
            }
            executor.target.runOn(next);
        }
    }

    private Executor eventLoopOf(ServerConsumer consumer) {
        RemotingConnection connection = server.getRemotingService().getConnection(consumer.getConnectionID());
        return connection != null && connection.getTransportConnection() instanceof NettyConnection netty
                ? netty.getNettyChannel().eventLoop() : null;
    }

    private static final class QueueExecutor extends OrderedExecutor {
        final SwitchableExecutor target;

        QueueExecutor(SwitchableExecutor target) {
            super(target);
            this.target = target;
        }
    }

    /**
     * Runs tasks on an event loop when one is set and still running, else on the broker's pool; either way with the
     * queue's own storage context. (Artemis writes to a subscriber once the thread's storage context has no pending
     * journal operation. An event loop's context is that of the last MQTT connection it accepted: deliveries would
     * wait on, or with its error be dropped for, another client's session.)
     */
    private static final class SwitchableExecutor implements Executor {
        private final Executor pool;
        private final OperationContext context;
        private volatile Executor loop;

        SwitchableExecutor(Executor pool, OperationContext context) {
            this.pool = pool;
            this.context = context;
        }

        void runOn(Executor loop) {
            this.loop = loop;
        }

        @Override
        public void execute(Runnable task) {
            Runnable withContext = () -> runInContext(task);
            Executor current = loop;
            if (current != null) {
                try {
                    current.execute(withContext);
                    return;
                } catch (RejectedExecutionException stopped) {
                    if (loop == current) {
                        loop = null; // the listener closed; whatever is left runs on the pool
                    }
                }
            }
            pool.execute(withContext);
        }

        private void runInContext(Runnable task) {
            OperationContext previous = OperationContextImpl.getContext(null);
            OperationContextImpl.setContext(context);
            try {
                task.run();
            } finally {
                if (previous == null) {
                    OperationContextImpl.clearContext();
                } else {
                    OperationContextImpl.setContext(previous);
                }
            }
        }
    }
}
