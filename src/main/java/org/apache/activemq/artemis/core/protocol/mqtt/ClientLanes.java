package org.apache.activemq.artemis.core.protocol.mqtt;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The packets of all connections of one MQTT client id are handled one at a time, in a lane of their own: a client
 * id's lane runs one connection's turn (its packets queued so far, Artemis' {@code mqttMessageActor}) after another on
 * the broker's thread pool, never two at once. Lanes are striped by the client id's hash (1,024 of them for all the
 * listeners of a broker): two ids may share a lane and then wait for each other's turns, a turn is short, and no thread
 * ever blocks on a lane.
 * <p>
 * Artemis keeps one session state per client id, which the connections of that id share, and handles each connection's
 * packets on its own: when clients take one id over from each other at the same moment, their CONNECTs (each taking
 * over the one before), their SUBSCRIBEs and the sessions they end ran at once on several threads, on the same state.
 * A clean session's end deleted the subscription queue another connection of the id consumed from (AMQ834000 "Cannot
 * delete queue ... it has consumers"), two SUBSCRIBEs made the same queue ({@code ActiveMQQueueExistsException}),
 * one found the subscription in the state but not its own consumer ({@code NullPointerException}), each an ERROR with
 * a stack trace, and a subscription queue could be left behind with no session to delete it (FloodFreeLogIT: 50
 * clients at once, twice, logged 40 to 52 ERRORs, and some runs left a queue). With the lanes a takeover's CONNECT
 * ends the previous connection's session before anything else of that id goes on. ({@link ConnectAsking} also drops
 * what a connection sent after it was taken over.)
 */
final class ClientLanes {

    private static final int LANES = 1024;
    /** Turns a lane runs before it lets the pool's other work in. */
    private static final int BATCH = 64;

    private final Lane[] lanes = new Lane[LANES];

    ClientLanes(Executor pool) {
        for (int i = 0; i < LANES; i++) {
            lanes[i] = new Lane(pool);
        }
    }

    /** The lane of a client id. */
    Lane of(String clientId) {
        int hash = clientId.hashCode();
        return lanes[(hash ^ hash >>> 16) & LANES - 1];
    }

    /** Runs its tasks one at a time, in order, on the pool. */
    static final class Lane {
        private final Executor pool;
        private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean running = new AtomicBoolean();

        Lane(Executor pool) {
            this.pool = pool;
        }

        void execute(Runnable task) {
            tasks.add(task);
            schedule();
        }

        /** Runs {@code task} on this thread if the lane has nothing running or waiting; false if it did not run it. */
        boolean runIfIdle(Runnable task) {
            if (!tasks.isEmpty() || !running.compareAndSet(false, true)) {
                return false;
            }
            try {
                task.run();
            } finally {
                running.set(false);
                schedule();
            }
            return true;
        }

        private void schedule() {
            if (!tasks.isEmpty() && running.compareAndSet(false, true)) {
                try {
                    pool.execute(this::drain);
                } catch (RuntimeException rejected) { // the pool is shutting down
                    running.set(false);
                    throw rejected;
                }
            }
        }

        private void drain() {
            try {
                Runnable task;
                for (int i = 0; i < BATCH && (task = tasks.poll()) != null; i++) {
                    task.run();
                }
            } finally {
                running.set(false);
                schedule();
            }
        }
    }
}
