package history;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The events the recorder has just committed, handed to every open stream: what a stream gets live is exactly what
 * the store holds, so that its replay (a query) and its live part meet without a seam. A stream registers before it
 * replays: every batch committed before it registered is visible to its query, every later one reaches it here.
 */
final class LiveEvents implements Consumer<List<Event>> {

    private final List<EventStream> streams = new CopyOnWriteArrayList<>();

    /**
     * A committed batch, on the recorder's thread: each stream takes it without blocking. Each event is written as an
     * SSE message once here, for all the streams (1,000 streams each writing every event themselves spent most of the
     * stream's CPU on the same JSON).
     */
    @Override
    public synchronized void accept(List<Event> batch) {
        if (streams.isEmpty()) {
            return;
        }
        List<Framed> framed = new ArrayList<>(batch.size());
        for (Event event : batch) {
            framed.add(new Framed(event, EventStream.frame(event)));
        }
        for (EventStream stream : streams) {
            stream.offer(framed);
        }
    }

    /** An event, and its SSE message. */
    record Framed(Event event, byte[] frame) {
    }

    /** From now on {@code stream} gets every batch committed; each batch committed before is already in the store. */
    synchronized void register(EventStream stream) {
        streams.add(stream);
    }

    void remove(EventStream stream) {
        streams.remove(stream);
    }

    int open() {
        return streams.size();
    }
}
