package broker.guard;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import org.apache.activemq.artemis.core.remoting.impl.netty.NettyAcceptor;
import org.apache.activemq.artemis.core.server.cluster.ClusterConnection;
import org.apache.activemq.artemis.core.server.metrics.MetricsManager;
import org.apache.activemq.artemis.spi.core.protocol.ProtocolManager;
import org.apache.activemq.artemis.spi.core.remoting.Acceptor;
import org.apache.activemq.artemis.spi.core.remoting.AcceptorFactory;
import org.apache.activemq.artemis.spi.core.remoting.BufferHandler;
import org.apache.activemq.artemis.spi.core.remoting.ServerConnectionLifeCycleListener;
import org.apache.activemq.artemis.utils.actors.OrderedExecutor;

/**
 * The MQTT listeners' acceptors: Artemis' own, whose handshake timeout (a new socket that has not sent its first bytes
 * in time is closed) is decided on the socket's event loop instead of Artemis' scheduler thread, and counted.
 * <p>
 * Artemis starts the timer when the socket becomes active (on its event loop) and stops it when the loop has read the
 * first 8 bytes, but runs it on its scheduler thread, which cannot see whether the bytes are there: when the loop is
 * behind by more than the timeout (a reconnect storm on a busy node) it closed clients that had sent their CONNECT at
 * once, after the loop had served them (CONNACK, SUBACK, even events), because the close was queued before the read.
 * On the loop the timer can only fire when the loop runs its tasks, after it has read what arrived in time.
 * <p>
 * How: the acceptor hands its scheduler this timer, its one one-shot task, and two periodic ones (the batch flusher,
 * the HTTP keep-alive scan). A one-shot task of the timeout's delay, in seconds, scheduled from an event loop's own
 * thread (the timer, started in {@code channelActive}) runs on that loop; everything else goes to Artemis' scheduler
 * as before. Relies on Netty's {@code ThreadExecutorMap} to find the calling thread's loop. docs/artemis-changes.md
 * row 30.
 */
public final class HandshakeTimeout implements AcceptorFactory {

    private final Refusals refusals;
    private final int seconds;

    HandshakeTimeout(Refusals refusals, int seconds) {
        this.refusals = refusals;
        this.seconds = seconds;
    }

    @Override
    public Acceptor createAcceptor(String name, ClusterConnection clusterConnection, Map<String, Object> configuration,
            BufferHandler handler, ServerConnectionLifeCycleListener listener, Executor threadPool,
            ScheduledExecutorService scheduledThreadPool, Map<String, ProtocolManager> protocolMap, String threadFactoryGroupName,
            MetricsManager metricsManager) {
        return new NettyAcceptor(name, clusterConnection, configuration, handler, listener,
                new OnEventLoop(scheduledThreadPool, seconds, () -> refusals.closed(name, Refusals.HANDSHAKE_TIMEOUT, null,
                        "it sent no packet within " + seconds + " s")),
                new OrderedExecutor(threadPool), protocolMap, threadFactoryGroupName, metricsManager);
    }

    /**
     * Artemis' scheduler, except for a one-shot task of the handshake timeout's delay scheduled from an event loop's
     * thread: that one runs on that loop.
     */
    static final class OnEventLoop implements ScheduledExecutorService {

        private final ScheduledExecutorService scheduler;
        private final int seconds;
        private final Runnable counted;

        /** {@code counted}: runs before each task scheduled on an event loop (the timer fired: a socket closed). */
        OnEventLoop(ScheduledExecutorService scheduler, int seconds, Runnable counted) {
            this.scheduler = scheduler;
            this.seconds = seconds;
            this.counted = counted;
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            EventExecutor loop = ThreadExecutorMap.currentExecutor();
            if (loop == null || !loop.inEventLoop() || unit != TimeUnit.SECONDS || delay != seconds) {
                return scheduler.schedule(command, delay, unit);
            }
            return loop.schedule(() -> {
                counted.run();
                command.run();
            }, delay, unit);
        }

        @Override
        public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
            return scheduler.schedule(callable, delay, unit);
        }

        @Override
        public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
            return scheduler.scheduleAtFixedRate(command, initialDelay, period, unit);
        }

        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
            return scheduler.scheduleWithFixedDelay(command, initialDelay, delay, unit);
        }

        @Override
        public void execute(Runnable command) {
            scheduler.execute(command);
        }

        @Override
        public void shutdown() {
            scheduler.shutdown();
        }

        @Override
        public List<Runnable> shutdownNow() {
            return scheduler.shutdownNow();
        }

        @Override
        public boolean isShutdown() {
            return scheduler.isShutdown();
        }

        @Override
        public boolean isTerminated() {
            return scheduler.isTerminated();
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
            return scheduler.awaitTermination(timeout, unit);
        }

        @Override
        public <T> Future<T> submit(Callable<T> task) {
            return scheduler.submit(task);
        }

        @Override
        public <T> Future<T> submit(Runnable task, T result) {
            return scheduler.submit(task, result);
        }

        @Override
        public Future<?> submit(Runnable task) {
            return scheduler.submit(task);
        }

        @Override
        public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks) throws InterruptedException {
            return scheduler.invokeAll(tasks);
        }

        @Override
        public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
                throws InterruptedException {
            return scheduler.invokeAll(tasks, timeout, unit);
        }

        @Override
        public <T> T invokeAny(Collection<? extends Callable<T>> tasks) throws InterruptedException, ExecutionException {
            return scheduler.invokeAny(tasks);
        }

        @Override
        public <T> T invokeAny(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
                throws InterruptedException, ExecutionException, TimeoutException {
            return scheduler.invokeAny(tasks, timeout, unit);
        }
    }
}
