package history;

import static history.HistoryClient.ids;
import static history.HistoryClient.query;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import history.EventStreamClient.Message;
import history.HistoryClient.Answer;
import history.HistoryClient.Event;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The catch-up stream (docs/history.md) from outside: {@code GET /events} read over a socket as Server-Sent Events, its
 * messages compared id by id (and object by object) with what {@code GET /history} holds. Each test publishes under
 * its own topic and reads only that, so that the tests share one application.
 */
class EventsIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Set<String> FIELDS = Set.of("id", "topic", "received", "payload");
    /** Makes a payload about 1 KiB. */
    private static final String PAD = "x".repeat(1_000);

    @TempDir
    static Path data;
    static FirehoseApp app;
    static HistoryClient history;
    static MqttClient publisher;

    @BeforeAll
    static void start() throws Exception {
        app = FirehoseApp.builder(data.resolve("app")).start();
        history = new HistoryClient(app.httpUrl());
        publisher = Clients.publisher(app.tcpUrl());
    }

    @AfterAll
    static void stop() {
        if (publisher != null) {
            Clients.close(publisher);
        }
        if (app != null) {
            app.close();
        }
    }

    @Test
    void replay_then_live_is_the_history_after_the_cursor_in_order() throws Exception {
        String prefix = "ansible/replay";
        publishNumbered(prefix, 0, 30);
        List<Event> before = recorded(prefix, 30);
        String cursor = before.get(12).id();
        try (EventStreamClient stream = open(query("topic", prefix + "/#", "after", cursor))) {
            assertEquals("text/event-stream", mediaType(stream));
            List<Message> replayed = stream.take(17, WAIT);
            assertEquals("retry: 2000", stream.firstLine(), "the stream begins with the reconnection delay");
            assertEquals(ids(before.subList(13, 30)), idsOf(replayed), "the recorded events strictly after the cursor");

            publishNumbered(prefix, 30, 50);
            List<Message> live = stream.take(20, WAIT);
            List<Event> expected = history.all("/history" + query("topic", prefix + "/#", "after", cursor, "order", "asc", "limit", "1000"));
            assertEquals(37, expected.size());
            List<Message> got = concat(replayed, live);
            assertEquals(ids(expected), idsOf(got), "replay then live, in order, no gap, no duplicate");
            List<Executable> checks = new ArrayList<>();
            for (int i = 0; i < got.size(); i++) {
                Message message = got.get(i);
                Event event = expected.get(i);
                checks.add(() -> {
                    assertEquals(1, message.dataLines(), "one data line: " + message);
                    assertEquals(FIELDS, fieldNames(message.json()), message.data());
                    assertEquals(event.json(), message.json(), "the object GET /history answers");
                    assertEquals(message.id(), message.json().get("id").asText(), "the SSE id is the event's id");
                });
            }
            assertAll(checks);
            assertEquals(List.of("retry: 2000"), stream.otherFields(), "no field but id and data after retry");
            assertNextIs(stream, sentinel(prefix + "/end"));
        }
    }

    @Test
    void since_starts_at_an_instant_and_no_cursor_is_live_only() throws Exception {
        String prefix = "ansible/since";
        publishNumbered(prefix, 0, 5);
        long lastEarly = millis(recorded(prefix, 5).get(4));
        Await.until(WAIT, () -> System.currentTimeMillis() > lastEarly + 10, () -> "the clock passes the early events");
        publishNumbered(prefix, 5, 10);
        List<Event> published = recorded(prefix, 10);
        long firstLate = millis(published.get(5));
        assertTrue(firstLate - lastEarly >= 2, "a gap between the phases: " + lastEarly + " then " + firstLate);
        Instant between = Instant.ofEpochMilli((lastEarly + firstLate) / 2);

        try (EventStreamClient iso = open(query("topic", prefix + "/#", "since", between.toString()));
             EventStreamClient epoch = open(query("topic", prefix + "/#", "since", String.valueOf(between.toEpochMilli())));
             EventStreamClient live = open(query("topic", prefix + "/#"))) {
            List<String> late = ids(published.subList(5, 10));
            assertEquals(late, idsOf(iso.take(5, WAIT)), "since as an ISO-8601 instant");
            assertEquals(late, idsOf(epoch.take(5, WAIT)), "since as epoch milliseconds");

            publishNumbered(prefix, 10, 15);
            List<String> after = ids(recorded(prefix, 15).subList(10, 15));
            assertEquals(after, idsOf(iso.take(5, WAIT)));
            assertEquals(after, idsOf(epoch.take(5, WAIT)));
            assertEquals(after, idsOf(live.take(5, WAIT)), "without a cursor: only what was published after the stream opened");
            String end = sentinel(prefix + "/end");
            assertNextIs(iso, end);
            assertNextIs(epoch, end);
            assertNextIs(live, end);
        }
    }

    @Test
    void last_event_id_resumes_exactly_after_the_last_event_received() throws Exception {
        String prefix = "ansible/resume";
        publishNumbered(prefix, 0, 20);
        String cursor = recorded(prefix, 20).get(2).id();
        List<Message> beforeDrop;
        try (EventStreamClient first = open(query("topic", prefix + "/#", "after", cursor))) {
            beforeDrop = first.take(8, WAIT); // the client drops the connection in the middle of the replay
        }
        String lastSeen = beforeDrop.get(7).id();
        publishNumbered(prefix, 20, 30); // while it is away

        // the header wins over the query's cursor, which a reconnecting EventSource sends again unchanged
        try (EventStreamClient resumed = open(query("topic", prefix + "/#", "after", cursor), "Last-Event-ID", lastSeen);
             EventStreamClient resumedSince = open(query("topic", prefix + "/#", "since", "0"), "Last-Event-ID", lastSeen)) {
            recorded(prefix, 30);
            List<Message> caughtUp = resumed.take(19, WAIT);
            List<Message> caughtUpSince = resumedSince.take(19, WAIT);
            publishNumbered(prefix, 30, 35);
            List<Message> live = resumed.take(5, WAIT);
            List<Message> liveSince = resumedSince.take(5, WAIT);

            List<Event> expected = history.all("/history" + query("topic", prefix + "/#", "after", cursor, "order", "asc", "limit", "1000"));
            assertEquals(32, expected.size());
            assertEquals(ids(expected), idsOf(concat(beforeDrop, concat(caughtUp, live))), "before the drop, then resumed: no gap, no duplicate");
            assertEquals(ids(expected.subList(8, 32)), idsOf(concat(caughtUpSince, liveSince)), "Last-Event-ID wins over since");
            String end = sentinel(prefix + "/end");
            assertNextIs(resumed, end);
            assertNextIs(resumedSince, end);
        }
    }

    /**
     * Streams opened while events are published without pause, each replaying from before the first: a short replay, and
     * longer ones of several pages; one of these read at 2 MB/s, so that its last replay page is still being read while
     * events go on being recorded (what a stream registered for live events only after its replay would miss).
     */
    @Test
    void a_stream_opened_during_a_continuous_publish_gets_every_event_once_in_order() throws Exception {
        String prefix = "ansible/handover";
        int count = 3_000;
        int[] openAt = {100, 700, 700, 1_500};
        long[] pace = {0, 0, 2_000_000, 0};
        String since = String.valueOf(System.currentTimeMillis());
        AtomicInteger sent = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        MqttClient busy = Clients.publisher(app.tcpUrl());
        Thread publishing = new Thread(() -> {
            try {
                for (int i = 0; i < count; i++) {
                    Clients.publish(busy, prefix + "/n", "{\"n\":" + i + ",\"pad\":\"" + PAD + "\"}", 1, false);
                    sent.incrementAndGet();
                }
            } catch (Exception | AssertionError e) {
                failure.set(e);
            }
        }, "handover-publisher");
        List<EventStreamClient> streams = new ArrayList<>();
        List<Integer> sentWhenOpened = new ArrayList<>();
        long began = System.nanoTime();
        publishing.start();
        try {
            for (int s = 0; s < openAt.length; s++) {
                int at = openAt[s];
                Await.until(WAIT, () -> sent.get() >= at || failure.get() != null, () -> at + " events published");
                sentWhenOpened.add(sent.get());
                String path = "/events" + query("topic", prefix + "/#", "since", since);
                EventStreamClient stream = EventStreamClient.open(app.httpUrl(), pace[s], path);
                streams.add(stream);
                assertEquals(200, stream.status(), stream.body());
            }
            publishing.join(WAIT.toMillis() * 4);
            assertNull(failure.get(), () -> "publishing: " + failure.get());
            long publishedIn = (System.nanoTime() - began) / 1_000_000;
            assertTrue(sentWhenOpened.get(openAt.length - 1) < count, "every stream opened while events were still being published: "
                    + sentWhenOpened);
            List<String> recorded = ids(recorded(prefix, count));
            System.out.println("Hand-over: " + count + " events published in " + publishedIn + " ms; streams opened after " + sentWhenOpened);
            List<Executable> checks = new ArrayList<>();
            for (int s = 0; s < streams.size(); s++) {
                EventStreamClient stream = streams.get(s);
                String what = "stream opened after " + sentWhenOpened.get(s) + " of " + count + " events" + (pace[s] > 0 ? ", read at "
                        + pace[s] + " B/s" : "") + " (published in " + publishedIn + " ms)";
                checks.add(() -> {
                    List<Message> got = takeNumbered(stream, count, WAIT.multipliedBy(2));
                    assertNumbered(count, got, what);
                    assertEquals(recorded, idsOf(got), what);
                });
            }
            assertAll(checks);
            String end = sentinel(prefix + "/end");
            for (EventStreamClient stream : streams) {
                assertNextIs(stream, end);
            }
        } finally {
            publishing.join(WAIT.toMillis());
            Clients.close(busy);
            for (EventStreamClient stream : streams) {
                stream.close();
            }
        }
    }

    @Test
    void an_idle_stream_gets_a_keep_alive_comment_within_20_seconds() throws Exception {
        try (EventStreamClient idle = open(query("topic", "ansible/idle/#"))) {
            assertEquals(": keep-alive", idle.comment(Duration.ofSeconds(20)));
            assertNull(idle.poll(Duration.ZERO), "no event on an idle stream");
            assertFalse(idle.ended(), "still open");
        }
    }

    @Test
    void a_bad_filter_cursor_or_parameter_is_400_naming_it() throws Exception {
        String id = "0".repeat(22);
        double opened = metric(app, "firehose_events_streams_opened_total");
        List<Executable> checks = new ArrayList<>();
        String[][] cases = {
                {query("topic", "a/#/b"), "topic"},
                {query("topic", "ansible/#", "topic", "a+"), "topic"},
                {query("after", "xyz"), "after"},
                {query("after", id + "0"), "after"},
                {query("after", id, "after", id), "after"},
                {query("since", "yesterday"), "since"},
                {query("after", id, "since", "0"), "since"},
                {query("foo", "1"), "foo"},
                {query("limit", "5"), "limit"}, // a /history parameter that a stream has not
        };
        for (String[] bad : cases) {
            checks.add(() -> assertBadParameter(history.get("/events" + bad[0]), bad[1], bad[0]));
        }
        checks.add(() -> assertBadParameter(history.get("/events" + query("topic", "ansible/#"), "Last-Event-ID", "not-an-id"),
                "Last-Event-ID", "Last-Event-ID: not-an-id"));
        checks.add(() -> assertBadParameter(history.get("/events" + query("topic", "ansible/#"), "Last-Event-ID", id.toUpperCase() + "G"),
                "Last-Event-ID", "Last-Event-ID of 23 characters"));
        checks.add(() -> assertBadParameter(history.get("/events" + query("topic", "a/#/b"), "Last-Event-ID", id), "topic",
                "a good Last-Event-ID, a bad filter"));
        assertAll(checks);
        assertEquals(opened, metric(app, "firehose_events_streams_opened_total"), "a refused request opens no stream");
    }

    @Test
    void over_max_streams_is_503_with_retry_after_until_one_closes() throws Exception {
        try (FirehoseApp small = FirehoseApp.builder(data.resolve("small")).set("firehose.events.max-streams", "2").start()) {
            String path = "/events" + query("topic", "ansible/max/#");
            EventStreamClient one = EventStreamClient.open(small.httpUrl(), path);
            EventStreamClient two = EventStreamClient.open(small.httpUrl(), path);
            AtomicReference<EventStreamClient> again = new AtomicReference<>();
            try {
                assertEquals(200, one.status());
                assertEquals(200, two.status());
                try (EventStreamClient third = EventStreamClient.open(small.httpUrl(), path)) {
                    assertEquals(503, third.status(), third.body());
                    assertNotNull(third.header("Retry-After"), "503 says when to try again");
                    assertTrue(third.header("Retry-After").matches("\\d+"), third.header("Retry-After"));
                    assertTrue(HistoryClient.JSON.readTree(third.body()).get("error").isTextual(), third.body());
                }
                assertEquals(1.0, metric(small, "firehose_events_streams_refused_total"));
                assertEquals(2.0, metric(small, "firehose_events_streams"));

                one.close();
                Await.until(WAIT, () -> {
                    try {
                        EventStreamClient next = EventStreamClient.open(small.httpUrl(), path);
                        if (next.status() == 200) {
                            again.set(next);
                            return true;
                        }
                        assertEquals(503, next.status(), next.body());
                        return false;
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }, () -> "a stream accepted once one of the two is closed");
                MqttClient smallPublisher = Clients.publisher(small.tcpUrl());
                try {
                    Clients.publish(smallPublisher, "ansible/max/1", "{\"after\":\"the close\"}", 1, false);
                } finally {
                    Clients.close(smallPublisher);
                }
                assertEquals("ansible/max/1", again.get().take(1, WAIT).get(0).json().get("topic").asText(), "the new stream is live");
                assertEquals("ansible/max/1", two.take(1, WAIT).get(0).json().get("topic").asText());
                assertEquals(2.0, metric(small, "firehose_events_streams"));
                assertTrue(metric(small, "firehose_events_streams_opened_total") >= 3);
            } finally {
                one.close();
                two.close();
                if (again.get() != null) {
                    again.get().close();
                }
            }
        }
    }

    @Test
    void a_reader_that_stops_reading_is_cut_off_while_another_gets_every_event() throws Exception {
        String prefix = "ansible/slow";
        int count = 15_000;
        String path = "/events" + query("topic", prefix + "/#");
        double cutBefore = metric(app, "firehose_events_streams_cut_total");
        URI base = URI.create(app.httpUrl());
        try (Socket slow = new Socket(); EventStreamClient reading = open(query("topic", prefix + "/#"))) {
            slow.setReceiveBufferSize(4096);
            slow.connect(new InetSocketAddress(base.getHost(), base.getPort()), 10_000);
            slow.setSoTimeout(10_000);
            EventStreamClient.sendRequest(slow, base, path);
            long head = readThrough(slow.getInputStream(), "retry: 2000\n\n"); // then it reads nothing more
            Await.until(WAIT, () -> metric(app, "firehose_events_streams") >= 2, () -> "both streams open");

            long began = System.nanoTime();
            publishFast(prefix + "/n", 0, count, PAD);
            long publishedIn = (System.nanoTime() - began) / 1_000_000;
            List<Message> got = takeNumbered(reading, count, WAIT.multipliedBy(4));
            assertNumbered(count, got, "the reading stream (" + count + " published in " + publishedIn + " ms)");
            Await.until(WAIT, () -> metric(app, "firehose_events_streams_cut_total") >= cutBefore + 1,
                    () -> "the slow stream cut; cut total " + metric(app, "firehose_events_streams_cut_total"));

            long drained = drainUntilClosed(slow, WAIT);
            assertTrue(head + drained < (long) count * 1_000,
                    "the slow reader was cut before it could get every event: " + (head + drained) + " bytes");
            assertNextIs(reading, sentinel(prefix + "/end"));
            assertFalse(reading.ended(), "the reading stream goes on");
        }
    }

    @Test
    void a_long_replay_of_large_events_then_a_burst_of_live_ones_is_every_event_once_in_order() throws Exception {
        String prefix = "ansible/burst";
        int replayed = 1_030; // two full replay pages, then a short one
        int count = replayed + 3_000;
        String since = String.valueOf(System.currentTimeMillis());
        publishFast(prefix + "/n", 0, replayed, PAD);
        recorded(prefix, replayed);
        try (EventStreamClient stream = open(query("topic", prefix + "/#", "since", since))) {
            long began = System.nanoTime();
            publishFast(prefix + "/n", replayed, count, PAD);
            long publishedIn = (System.nanoTime() - began) / 1_000_000;
            List<Message> got = takeNumbered(stream, count, WAIT.multipliedBy(4));
            assertNumbered(count, got, replayed + " replayed, then " + (count - replayed) + " live published in " + publishedIn + " ms");
            assertEquals(ids(recorded(prefix, count)), idsOf(got));
            assertNextIs(stream, sentinel(prefix + "/end"));
        }
    }

    @Test
    void a_topic_filter_selects_the_events_and_two_filters_are_a_union() throws Exception {
        String prefix = "ansible/filter";
        List<String> topics = List.of(prefix + "/a/x", prefix + "/a/x/y", prefix + "/b/x", prefix + "/a", prefix + "/c/x", prefix + "/a/z");
        String since = String.valueOf(System.currentTimeMillis());
        for (String topic : topics) {
            Clients.publish(publisher, topic, "{\"round\":0}", 1, false);
        }
        recorded(prefix, topics.size());
        String one = prefix + "/a/+";
        String other = prefix + "/+/x";
        try (EventStreamClient filtered = open(query("topic", one, "since", since));
             EventStreamClient union = open(query("topic", one, "topic", other, "since", since))) {
            for (String topic : topics) {
                Clients.publish(publisher, topic, "{\"round\":1}", 1, false);
            }
            List<Event> all = recorded(prefix, 2 * topics.size());
            List<Event> matching = all.stream().filter(e -> HistoryClient.matches(one, e.topic())).toList();
            List<Event> either = all.stream().filter(e -> HistoryClient.matches(one, e.topic()) || HistoryClient.matches(other, e.topic())).toList();
            assertEquals(4, matching.size());
            assertEquals(8, either.size());
            assertEquals(ids(matching), idsOf(filtered.take(matching.size(), WAIT)), "replayed and live: only " + one);
            assertEquals(ids(either), idsOf(union.take(either.size(), WAIT)), one + " or " + other + ", each event once");
            String end = sentinel(prefix + "/a/end");
            assertNextIs(filtered, end);
            assertNextIs(union, end);
        }
    }

    private static EventStreamClient open(String query, String... headers) throws IOException {
        EventStreamClient stream = EventStreamClient.open(app.httpUrl(), "/events" + query, headers);
        assertEquals(200, stream.status(), () -> "GET /events" + query + ": " + stream.status() + " " + stream.body());
        return stream;
    }

    private static void publishNumbered(String prefix, int from, int to) throws Exception {
        for (int i = from; i < to; i++) {
            Clients.publish(publisher, prefix + "/" + i, "{\"n\":" + i + "}", 1, false);
        }
    }

    /** Waits until {@code count} events are recorded under {@code prefix}, and checks there are not more. */
    private static List<Event> recorded(String prefix, int count) throws InterruptedException {
        List<Event> events = history.awaitRecorded(prefix, count);
        assertEquals(count, events.size(), "events recorded under " + prefix);
        return events;
    }

    /**
     * Publishes {@code {"n": from, "pad": pad}} to {@code {"n": to - 1, ...}} on {@code topic} at QoS 1 from one connection,
     * without waiting for each acknowledgement (up to 500 outstanding); returns once all are acknowledged.
     */
    private static void publishFast(String topic, int from, int to, String pad) throws Exception {
        MqttAsyncClient client = new MqttAsyncClient(app.tcpUrl(), Clients.id("fast"), null);
        client.connect(Clients.options(app.tcpUrl(), FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD)).waitForCompletion(10_000);
        int window = 500;
        Semaphore outstanding = new Semaphore(window);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        IMqttActionListener acknowledged = new IMqttActionListener() {
            @Override
            public void onSuccess(IMqttToken token) {
                outstanding.release();
            }

            @Override
            public void onFailure(IMqttToken token, Throwable e) {
                failure.compareAndSet(null, e);
                outstanding.release();
            }
        };
        try {
            for (int i = from; i < to; i++) {
                assertTrue(outstanding.tryAcquire(WAIT.toMillis(), TimeUnit.MILLISECONDS), "an acknowledgement within " + WAIT);
                MqttMessage message = new MqttMessage(("{\"n\":" + i + ",\"pad\":\"" + pad + "\"}").getBytes(StandardCharsets.UTF_8));
                message.setQos(1);
                client.publish(topic, message, null, acknowledged);
            }
            assertTrue(outstanding.tryAcquire(window, WAIT.toMillis(), TimeUnit.MILLISECONDS), "every acknowledgement within " + WAIT);
            assertNull(failure.get(), () -> "publishing: " + failure.get());
        } finally {
            client.disconnect().waitForCompletion(10_000);
            client.close();
        }
    }

    /**
     * Publishes one event no stream has seen, on {@code topic}, and returns its id once recorded: the next message a
     * stream sends must be this one, so that it sent nothing else (no late duplicate) before it.
     */
    private static String sentinel(String topic) throws Exception {
        String nonce = UUID.randomUUID().toString();
        Clients.publish(publisher, topic, "{\"sentinel\":\"" + nonce + "\"}", 1, false);
        Answer answer = history.awaitAnswer("/history" + query("topic", topic, "limit", "1"), a -> {
            JsonNode events = a.status() == 200 ? a.json().get("events") : null;
            return events != null && events.size() == 1 && nonce.equals(events.get(0).get("payload").path("sentinel").asText());
        });
        return answer.json().get("events").get(0).get("id").asText();
    }

    private static void assertNextIs(EventStreamClient stream, String id) throws InterruptedException {
        Message next = stream.poll(WAIT);
        assertNotNull(next, "a message within " + WAIT);
        assertEquals(id, next.id(), "the sentinel comes next, nothing before it: " + next);
    }

    /** The messages up to the one numbered {@code count - 1}, the last published. */
    private static List<Message> takeNumbered(EventStreamClient stream, int count, Duration timeout) throws InterruptedException {
        return stream.takeThrough(m -> m.json().path("payload").path("n").asInt(-1) == count - 1, 2 * count, timeout);
    }

    /** The messages' payloads are {@code {"n": 0}} to {@code {"n": count - 1}}, each once, in order; else says how not. */
    private static void assertNumbered(int count, List<Message> got, String what) {
        List<Integer> numbers = got.stream().map(m -> m.json().get("payload").get("n").asInt()).toList();
        if (numbers.equals(IntStream.range(0, count).boxed().toList())) {
            return;
        }
        Set<Integer> seen = new HashSet<>();
        List<Integer> duplicates = numbers.stream().filter(n -> !seen.add(n)).limit(10).toList();
        List<Integer> missing = IntStream.range(0, count).filter(n -> !seen.contains(n)).limit(10).boxed().toList();
        List<String> outOfOrder = new ArrayList<>();
        for (int i = 1; i < numbers.size() && outOfOrder.size() < 5; i++) {
            if (numbers.get(i) < numbers.get(i - 1)) {
                outOfOrder.add("at " + i + ": " + numbers.subList(Math.max(0, i - 3), Math.min(numbers.size(), i + 3)));
            }
        }
        fail(what + ": not every event once in order: " + numbers.size() + " messages, " + seen.size() + " distinct; duplicates "
                + duplicates + ", missing " + missing + ", out of order " + outOfOrder);
    }

    private static void assertBadParameter(Answer answer, String name, String what) {
        assertEquals(400, answer.status(), what + ": " + answer);
        assertEquals("application/json", answer.mediaType(), what);
        JsonNode error = answer.json().get("error");
        assertTrue(error != null && error.isTextual(), what + ": " + answer);
        assertTrue(error.asText().contains(name), what + ": the error names " + name + ": " + error.asText());
    }

    /** Reads until {@code end} has been read; returns the bytes read. */
    private static long readThrough(InputStream in, String end) throws IOException {
        StringBuilder read = new StringBuilder();
        while (read.indexOf(end) < 0) {
            int b = in.read();
            if (b == -1) {
                fail("the stream ended before '" + end + "': " + read);
            }
            read.append((char) b);
        }
        return read.length();
    }

    /** Reads everything the server still sends, until it closes the connection; fails if it keeps it open. */
    private static long drainUntilClosed(Socket socket, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        socket.setSoTimeout(1_000);
        InputStream in = socket.getInputStream();
        while (System.nanoTime() < deadline) {
            int n;
            try {
                n = in.read(buffer);
            } catch (SocketTimeoutException quiet) {
                continue;
            } catch (SocketException reset) {
                return total; // closed with data still unsent: a reset
            }
            if (n == -1) {
                return total;
            }
            total += n;
        }
        fail("the server did not close the slow stream within " + timeout + " (" + total + " bytes read)");
        return total;
    }

    static double metric(FirehoseApp on, String name) {
        try {
            String metrics = on.http("/observe/metrics").body();
            Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? (\\S+)$").matcher(metrics);
            assertTrue(m.find(), name + " missing from the metrics");
            return Double.parseDouble(m.group(1));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String mediaType(EventStreamClient stream) {
        String type = stream.header("Content-Type");
        return type == null ? "" : type.split(";")[0].trim().toLowerCase();
    }

    private static long millis(Event event) {
        return Instant.parse(event.received()).toEpochMilli();
    }

    private static List<String> idsOf(List<Message> messages) {
        return messages.stream().map(Message::id).toList();
    }

    private static <T> List<T> concat(List<T> first, List<T> second) {
        List<T> both = new ArrayList<>(first);
        both.addAll(second);
        return both;
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
