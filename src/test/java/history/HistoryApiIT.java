package history;

import static history.HistoryClient.JSON;
import static history.HistoryClient.idPath;
import static history.HistoryClient.ids;
import static history.HistoryClient.query;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import firehose.Await;
import firehose.Clients;
import firehose.FirehoseApp;
import firehose.Mqtt5Callbacks;
import firehose.Postgres;
import firehose.Subscriber;
import history.HistoryClient.Answer;
import history.HistoryClient.Event;
import history.HistoryClient.Page;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * The history API (docs/history.md) from outside: one application, a known set of events published once by a real MQTT
 * publisher (JSON, text, binary, empty payloads; topics that look like SQL LIKE patterns), then queries whose answers
 * are compared event by event with what was published. Only the last test publishes more.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HistoryApiIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    /** Events published first, {@code ansible/bulk/<i>}: more than a default page. */
    private static final int BULK = 110;
    private static final String RECEIVED = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";
    private static final String CORS = "Access-Control-Allow-Origin";
    private static final Set<String> FIELDS = Set.of("id", "topic", "received", "payload");
    /** A topic level that takes a topic past 256 characters. */
    private static final String LONG = "l".repeat(300);
    private static final byte[] BINARY = {0x00, (byte) 0xFF, (byte) 0xFE, (byte) 0x80, 'a', (byte) 0xC3, 0x28, 0x0A};

    /** What a payload is: JSON, UTF-8 text that is not JSON, or bytes that are not UTF-8. */
    enum Kind { JSON, TEXT, BYTES }

    /** One event as published. */
    record Published(String topic, byte[] payload, Kind kind) {

        /** The payload as the API must show it: its JSON value, else its text (null for bytes: some text). */
        JsonNode shown() throws java.io.IOException {
            return switch (kind) {
                case JSON -> JSON.readTree(payload);
                case TEXT -> TextNode.valueOf(new String(payload, StandardCharsets.UTF_8));
                case BYTES -> null;
            };
        }
    }

    @TempDir
    static Path data;
    static FirehoseApp app;
    /** The store of {@link HistoryApiPostgresIT}; null: the embedded H2. */
    static Postgres postgres;
    static HistoryClient history;
    static MqttClient publisher;
    static org.eclipse.paho.mqttv5.client.MqttClient mqtt5;
    /** The {@code firehose-id} user property of each event an MQTT 5 subscriber to {@code ansible/#} received, in order. */
    static final List<String> firehoseIds = Collections.synchronizedList(new ArrayList<>());

    static final List<Published> published = new ArrayList<>();
    /** How many events were published before the pause (the bulk ones among them); the others after it. */
    static int early;
    /** The fixture as the API recorded it, oldest first. */
    static List<Event> recorded;
    /** An instant strictly between the last early event's {@code received} and the first late one's. */
    static Instant between;
    static Instant startedAt;
    static Instant recordedAt;

    @BeforeAll
    static void publishTheFixture(TestInfo test) throws Exception {
        published.clear(); // the class runs twice: on H2, then on PostgreSQL (HistoryApiPostgresIT)
        firehoseIds.clear();
        FirehoseApp.Builder builder = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "1");
        if (test.getTestClass().orElseThrow() == HistoryApiPostgresIT.class) {
            postgres = Postgres.start(data.resolve("postgres"));
            builder.set("firehose.history.url", postgres.jdbcUrl()).set("firehose.history.user", postgres.user())
                    .set("firehose.history.password", postgres.password());
        }
        app = builder.start();
        history = new HistoryClient(app.httpUrl());
        try (Subscriber sys = Subscriber.on(app.tcpUrl(), "$SYS/#")) {
            sys.next(WAIT); // $SYS is being published before the fixture is, and so would be recorded before it
        }
        mqtt5 = firehoseIdCollector();
        publisher = Clients.publisher(app.tcpUrl());
        startedAt = Instant.now().truncatedTo(ChronoUnit.MILLIS);

        for (int i = 0; i < BULK; i++) {
            publishJson("ansible/bulk/" + i, "{\"i\":" + i + "}");
        }
        publishJson("ansible/openstack/nova/deploy", "{\"step\":1,\"host\":\"nova-1\",\"ok\":true}");
        publishJson("ansible/openstack/neutron/deploy", "{\"step\":2,\"tags\":[\"a\",\"b\"]}");
        publishText("ansible/openstack/nova/deploy/log", "plain text, not JSON");
        publishJson("ansible/openstack", "42");
        publishJson("ansible/zuul/x", "[1,\"two\",{\"three\":3}]");
        publishJson("ansible/zuul/x", "\"quoted\""); // shown as the string quoted
        publishJson("ansible/zuul/x", "null");
        publishText("ansible/zuul/x", "{\"unterminated\": ");
        publishText("ansible/zuul/x", "{\"a\":1} trailing"); // JSON then more: not JSON
        publishJson("ansible/zuul/x", "  {\"spaced\": true}\n");
        publishJson("ansible/zuul/x", "{\"name\":\"Zürich ✓\"}");
        publishText("ansible/zuul/html", "<b>bold</b><script>alert(1)</script>");
        publishText("ansible/zuul/multiline", "line one\nline two\r\n");
        publish("ansible/bin/blob", BINARY, Kind.BYTES);
        publish("ansible/empty", new byte[0], Kind.TEXT);
        publishJson("ansible/zuul/with space/é", "{\"unicode\":\"topic\"}");
        publishText("ansible/zuul/under_score", "u1");
        publishText("ansible/zuul/underXscore", "u2");
        publishText("ansible/zuul/100%", "p1");
        publishText("ansible/zuul/100%done", "p2");
        publishJson("ansible/zuul/pretty", "{\n  \"pretty\": true,\n  \"lines\": [\n    1\n  ]\n}\n");
        publishText("ansible/core/*", "star"); // Artemis' own wildcard and delimiter, plain characters in MQTT
        publishText("ansible/core/x", "x");
        publishText("ansible/core/a.b", "dot");
        publishText("ansible/core/a/b", "slash");
        publishText("ansible//gap", "an empty level");
        publishText("ansible/trail/", "an empty last level");
        publishText("ansible/long/" + LONG, "past the store's 256-character index key");
        publishText("ansible/long/" + LONG + "/end", "below it");
        early = published.size();
        long lastEarly = history.awaitRecorded("ansible", early).stream().mapToLong(HistoryApiIT::millis).max().orElseThrow();
        // a clock gap between the phases, so that an instant between them exists whatever the bounds' inclusiveness
        Await.until(WAIT, () -> System.currentTimeMillis() > lastEarly + 10, () -> "the clock passes the early events");

        publishJson("ansible/openstack/nova/deploy", "{\"step\":3}");
        publishText("ansible/zuul/x", "late");
        publishJson("ansible/openstack/neutron/deploy", "{\"step\":4}");
        recorded = history.awaitRecorded("ansible", published.size());
        recordedAt = Instant.now();
        long firstLate = recorded.stream().skip(early).mapToLong(HistoryApiIT::millis).min().orElseThrow();
        assertTrue(firstLate - lastEarly >= 2, "a gap between the phases: " + lastEarly + " then " + firstLate);
        between = Instant.ofEpochMilli((lastEarly + firstLate) / 2);
    }

    @AfterAll
    static void stop() throws Exception {
        if (publisher != null) {
            Clients.close(publisher);
        }
        if (mqtt5 != null) {
            if (mqtt5.isConnected()) {
                mqtt5.disconnect(2000);
            }
            mqtt5.close(true);
        }
        if (app != null) {
            app.close();
            app = null;
        }
        if (postgres != null) {
            postgres.close();
            postgres = null;
        }
    }

    @Test
    void every_published_event_is_recorded_once_in_arrival_order_with_its_topic_time_and_payload() throws Exception {
        List<Event> all = history.page("/history" + query("order", "asc", "limit", "1000")).events();
        assertEquals(published.size(), all.size(), "one event per publish, and nothing else (no $SYS): " + topics(all));
        for (int i = 0; i < all.size(); i++) {
            Event event = all.get(i);
            Published sent = published.get(i);
            String at = "event " + i + " " + event.json();
            assertEquals(FIELDS, fieldNames(event.json()), at);
            assertEquals(sent.topic(), event.topic(), at);
            assertNotNull(event.id(), at);
            assertTrue(event.received().matches(RECEIVED), "ISO-8601 UTC with milliseconds: " + at);
            Instant received = Instant.parse(event.received());
            assertFalse(received.isBefore(startedAt) || received.isAfter(recordedAt), "received while the test published: " + at);
            if (sent.shown() == null) {
                assertTrue(event.payload().isTextual(), "bytes that are not UTF-8 shown as text: " + at);
            } else {
                assertEquals(sent.shown(), event.payload(), at);
            }
            if (i > 0) {
                Event before = all.get(i - 1);
                assertTrue(before.id().compareTo(event.id()) < 0, "ids sort in arrival order: " + before.id() + " then " + event.id());
                assertFalse(Instant.parse(before.received()).isAfter(received), "received times follow arrival: " + before.json() + " " + at);
            }
        }
        assertEquals(ids(all), ids(recorded), "the same answer twice");
    }

    @Test
    void the_default_query_is_the_newest_100_first_with_a_next_link() throws Exception {
        Page page = history.page("/history");
        assertEquals("application/json", page.answer().mediaType());
        assertEquals(ids(newestFirst(recorded).subList(0, 100)), page.ids());
        assertNotNull(page.next(), "a full page has a next link");
        assertTrue(page.next().startsWith("/history?"), page.next());
        assertEquals(page.ids(), history.page("/history" + query("order", "desc")).ids(), "desc is the default");
    }

    @Test
    void order_asc_gives_the_oldest_first_and_limit_counts_from_there() throws Exception {
        assertEquals(ids(recorded.subList(0, 100)), history.page("/history" + query("order", "asc")).ids());
        assertEquals(ids(recorded.subList(0, 7)), history.page("/history" + query("order", "asc", "limit", "7")).ids());
        assertEquals(ids(newestFirst(recorded).subList(0, 5)), history.page("/history" + query("limit", "5")).ids());
        Page one = history.page("/history" + query("limit", "1"));
        assertEquals(List.of(last(recorded).id()), one.ids());
        assertNotNull(one.next());
        Page most = history.page("/history" + query("limit", "1000"));
        assertEquals(ids(newestFirst(recorded)), most.ids());
        assertNull(most.next(), "a page that is not full has no next link");
    }

    @Test
    void after_and_before_are_strict_and_after_implies_oldest_first() throws Exception {
        int k = 50;
        String id = recorded.get(k).id();
        Page after = history.page("/history" + query("after", id));
        assertEquals(ids(recorded.subList(k + 1, recorded.size())), after.ids(), "strictly after, oldest first");
        assertNull(after.next(), recorded.size() - k - 1 + " events, fewer than the default 100");
        assertEquals(after.ids(), history.page("/history" + query("after", id, "order", "asc")).ids());
        Page afterThree = history.page("/history" + query("after", id, "limit", "3"));
        assertEquals(ids(recorded.subList(k + 1, k + 4)), afterThree.ids());
        assertNotNull(afterThree.next());

        Page before = history.page("/history" + query("before", id));
        assertEquals(ids(newestFirst(recorded.subList(0, k))), before.ids(), "strictly before, newest first");
        assertNull(before.next());
        assertEquals(ids(newestFirst(recorded.subList(k - 3, k))), history.page("/history" + query("before", id, "limit", "3")).ids());
        assertEquals(ids(recorded.subList(0, k)), history.page("/history" + query("before", id, "order", "asc", "limit", "1000")).ids());

        assertEquals(List.of(), history.page("/history" + query("after", last(recorded).id())).ids());
        assertEquals(List.of(), history.page("/history" + query("before", recorded.get(0).id())).ids());
        assertEquals(List.of(), history.page("/history" + query("after", id, "before", recorded.get(k + 1).id())).ids());
        // docs/history.md: asc when after is given, a before or not
        assertEquals(ids(recorded.subList(k + 1, k + 5)),
                history.page("/history" + query("after", id, "before", recorded.get(k + 5).id())).ids(), "between two ids, oldest first");
    }

    @Test
    void topic_filters_match_as_mqtt_subscriptions_do() throws Exception {
        Map<String, Integer> filters = new LinkedHashMap<>();
        filters.put("#", published.size());
        filters.put("ansible/#", published.size());
        filters.put("ansible/openstack/#", 6); // "ansible/openstack" itself too, as MQTT's "#" does
        filters.put("ansible/openstack/+/deploy", 4);
        filters.put("+/+/+/deploy", 4);
        filters.put("+/openstack/#", 6);
        filters.put("ansible/openstack/nova/deploy", 2); // not .../deploy/log
        filters.put("ansible/openstack/nova/deploy/#", 3);
        filters.put("ansible/openstack/nova", 0);
        filters.put("ansible/+", 2);
        filters.put("ansible/zuul/x", 8);
        filters.put("ansible/zuul/+", 15); // not ansible/zuul/with space/é
        filters.put("ansible/bulk/+", BULK);
        filters.put("ansible/bulk/1", 1); // not ansible/bulk/10 to 19
        filters.put("ansible/bulk", 0);
        filters.put("ansible/bin/blob/#", 1);
        filters.put("ansible/zuul/with space/é", 1);
        filters.put("ansible/zuul/under_score", 1); // "_" and "%" are not SQL LIKE wildcards here
        filters.put("ansible/zuul/100%", 1);
        filters.put("ansible/zuul/%", 0);
        filters.put("ansible/%/nova/deploy", 0);
        filters.put("ansible/core/*", 1); // "*" and "." are no wildcard or separator here
        filters.put("ansible/core/a.b", 1);
        filters.put("ansible/core/a/b", 1);
        filters.put("ansible/core/a/#", 1);
        filters.put("ansible/core/+", 3);
        filters.put("ansible/core/#", 4);
        filters.put("ansible/+/gap", 1); // "+" matches an empty level
        filters.put("ansible//gap", 1);
        filters.put("ansible/gap", 0);
        filters.put("ansible/trail/+", 1);
        filters.put("ansible/trail/#", 1);
        filters.put("ansible/trail/", 1);
        filters.put("ansible/trail", 0);
        filters.put("ansible/long/" + LONG, 1);
        filters.put("ansible/long/" + LONG + "/#", 2);
        filters.put("ansible/long/+", 1);
        filters.put("ansible/long/+/end", 1);
        filters.put("ansible/long/" + LONG + "x", 0); // the same first 256 characters
        filters.put("ansible/long/" + LONG.substring(0, 280), 0);
        filters.put("ANSIBLE/#", 0);
        filters.put("+", 0);
        List<Executable> checks = new ArrayList<>();
        for (Map.Entry<String, Integer> filter : filters.entrySet()) {
            checks.add(() -> {
                List<Event> expected = recorded.stream().filter(e -> HistoryClient.matches(filter.getKey(), e.topic())).toList();
                assertEquals(filter.getValue(), expected.size(), "the fixture has " + filter.getValue() + " events on " + shortened(filter.getKey()));
                List<Event> answered = history.page("/history" + query("topic", filter.getKey(), "order", "asc", "limit", "1000")).events();
                assertEquals(ids(expected), ids(answered), shortened(filter.getKey()) + ": " + topics(answered));
            });
        }
        assertAll(checks);
    }

    @Test
    void repeated_topic_parameters_match_any_of_them_each_event_once() throws Exception {
        List<Event> deploysAndX = recorded.stream()
                .filter(topicIn("ansible/zuul/x", "ansible/openstack/nova/deploy", "ansible/openstack/neutron/deploy")).toList();
        assertEquals(ids(deploysAndX),
                history.page("/history" + query("topic", "ansible/zuul/x", "topic", "ansible/openstack/+/deploy", "order", "asc")).ids());
        assertEquals(ids(recorded.stream().filter(e -> e.topic().startsWith("ansible/openstack")).toList()),
                history.page("/history" + query("topic", "ansible/openstack/#", "topic", "ansible/openstack/nova/deploy",
                        "topic", "+/openstack/+/deploy", "order", "asc")).ids(), "overlapping filters");
        assertEquals(ids(newestFirst(recorded.stream().filter(topicIn("ansible/empty", "ansible/bin/blob")).toList())),
                history.page("/history" + query("topic", "ansible/empty", "topic", "nothing/here", "topic", "ansible/bin/blob")).ids());
    }

    @Test
    void since_and_until_take_an_iso_instant_or_epoch_milliseconds() throws Exception {
        List<Event> earlyOnes = recorded.subList(0, early);
        List<Event> lateOnes = recorded.subList(early, recorded.size());
        String iso = between.toString();
        String millis = String.valueOf(between.toEpochMilli());
        assertEquals(ids(newestFirst(lateOnes)), history.page("/history" + query("since", iso)).ids());
        assertEquals(ids(newestFirst(lateOnes)), history.page("/history" + query("since", millis)).ids());
        assertEquals(ids(newestFirst(earlyOnes)), history.page("/history" + query("until", iso, "limit", "1000")).ids());
        assertEquals(ids(newestFirst(earlyOnes)), history.page("/history" + query("until", millis, "limit", "1000")).ids());
        String secondsBefore = startedAt.minusSeconds(3600).truncatedTo(ChronoUnit.SECONDS).toString(); // 2026-12-06T12:00:00Z
        assertEquals(ids(earlyOnes), history.page("/history" + query("since", secondsBefore, "until", iso, "order", "asc", "limit", "1000")).ids());
        assertEquals(ids(lateOnes), history.page("/history" + query("since", millis, "until",
                String.valueOf(Instant.now().plusSeconds(3600).toEpochMilli()), "order", "asc")).ids());
        assertEquals(ids(lateOnes.stream().filter(topicIn("ansible/openstack/nova/deploy", "ansible/openstack/neutron/deploy")).toList()),
                history.page("/history" + query("since", iso, "topic", "ansible/openstack/#", "order", "asc")).ids());
        assertEquals(List.of(), history.page("/history" + query("since", recordedAt.plusSeconds(3600).toString())).ids());
        assertEquals(List.of(), history.page("/history" + query("until", startedAt.minusSeconds(3600).toString())).ids());
    }

    @Test
    void delta_counts_seconds_back_from_until_or_from_now() throws Exception {
        List<Event> lateOnes = recorded.subList(early, recorded.size());
        Instant hourAfter = between.plusSeconds(3600);
        assertEquals(ids(newestFirst(lateOnes)), history.page("/history" + query("until", hourAfter.toString(), "delta", "3600")).ids(),
                "from the instant between the phases to an hour after it");
        assertEquals(ids(newestFirst(lateOnes)),
                history.page("/history" + query("until", String.valueOf(hourAfter.toEpochMilli()), "delta", "3600")).ids());
        assertEquals(ids(newestFirst(recorded.subList(0, early))),
                history.page("/history" + query("until", between.toString(), "delta", "3600", "limit", "1000")).ids());
        assertEquals(ids(newestFirst(recorded)), history.page("/history" + query("delta", "3600", "limit", "1000")).ids(), "the last hour");
        assertEquals(List.of(), history.page("/history" + query("until", Instant.now().plusSeconds(7200).toString(), "delta", "3600")).ids(),
                "an hour that is still to come");
    }

    @Test
    void paging_with_next_gives_every_event_once_in_order() throws Exception {
        assertWalk("/history" + query("limit", "2"), 2, newestFirst(recorded));
        assertWalk("/history" + query("order", "asc", "limit", "2"), 2, recorded);
        assertWalk("/history" + query("topic", "ansible/openstack/#", "limit", "2"),
                2, newestFirst(recorded.stream().filter(e -> e.topic().startsWith("ansible/openstack")).toList()));
        assertWalk("/history" + query("topic", "ansible/zuul/+", "topic", "ansible/empty", "order", "asc", "limit", "3"), 3,
                recorded.stream().filter(e -> HistoryClient.matches("ansible/zuul/+", e.topic()) || e.topic().equals("ansible/empty")).toList());
        assertWalk("/history" + query("since", between.toString(), "limit", "1"), 1, newestFirst(recorded.subList(early, recorded.size())));
        assertWalk("/history" + query("after", recorded.get(10).id(), "limit", "25"), 25, recorded.subList(11, recorded.size()));
        assertWalk("/history" + query("before", recorded.get(60).id(), "limit", "20"), 20, newestFirst(recorded.subList(0, 60)));
        // a last page that is exactly full links to an empty one
        List<Page> exact = history.walk("/history" + query("limit", String.valueOf(recorded.size())));
        assertEquals(2, exact.size(), "a full page, then an empty one");
        assertEquals(ids(newestFirst(recorded)), exact.get(0).ids());
        assertEquals(List.of(), exact.get(1).ids());
        assertNull(exact.get(1).next());
    }

    @Test
    void an_event_by_id_is_the_listed_object_and_its_payload_the_exact_bytes() throws Exception {
        assertEquals(published.size(), recorded.size());
        List<Executable> checks = new ArrayList<>();
        for (int i = 0; i < recorded.size(); i++) {
            Event event = recorded.get(i);
            Published sent = published.get(i);
            checks.add(() -> {
                Answer one = history.get(idPath(event.id()));
                assertEquals(200, one.status(), one.toString());
                assertEquals("application/json", one.mediaType());
                assertEquals(event.json(), one.json(), "the same object as in the list");
                Answer payload = history.get(idPath(event.id()) + "/payload");
                assertEquals(200, payload.status(), payload.toString());
                assertArrayEquals(sent.payload(), payload.body(), "the bytes published on " + sent.topic());
                assertSensibleType(sent, payload);
            });
        }
        assertAll(checks);
    }

    @Test
    void unknown_ids_are_404() throws Exception {
        String lastId = last(recorded).id();
        for (String id : List.of("nope", lastId + "x", "x" + lastId, "' OR '1'='1", "../../../etc/passwd", "-1", "%00")) {
            for (String path : List.of(idPath(id), idPath(id) + "/payload")) {
                Answer answer = history.get(path);
                assertEquals(404, answer.status(), path + " " + answer);
            }
        }
    }

    @Test
    void ndjson_by_accept_header_or_format_gives_one_event_object_a_line() throws Exception {
        List<JsonNode> newest = objects(newestFirst(recorded));
        String filtered = query("topic", "ansible/zuul/#", "topic", "ansible/bin/+", "order", "asc", "limit", "1000");
        String afterFive = query("after", recorded.get(5).id(), "limit", "7");
        List<Executable> checks = new ArrayList<>(List.of(
                () -> {
                    Answer byHeader = history.get("/history" + query("limit", "1000"), "Accept", "application/x-ndjson");
                    assertEquals(200, byHeader.status(), byHeader.toString());
                    assertEquals("application/x-ndjson", byHeader.mediaType());
                    assertEquals(newest, objects(HistoryClient.ndjson(byHeader)));
                },
                () -> {
                    Answer byFormat = history.get("/history" + query("format", "ndjson", "limit", "1000"));
                    assertEquals(200, byFormat.status(), byFormat.toString());
                    assertEquals("application/x-ndjson", byFormat.mediaType());
                    assertEquals(newest, objects(HistoryClient.ndjson(byFormat)));
                },
                () -> assertEquals(objects(history.page("/history" + filtered).events()),
                        objects(HistoryClient.ndjson(history.get("/history" + filtered + "&format=ndjson")))),
                () -> assertEquals(objects(history.page("/history" + afterFive).events()),
                        objects(HistoryClient.ndjson(history.get("/history" + afterFive, "Accept", "application/x-ndjson")))),
                () -> assertEquals(List.of(), HistoryClient.ndjson(history.get("/history" + query("topic", "nothing/#", "format", "ndjson")))),
                () -> assertBadParameter(history.get("/history" + query("format", "ndjson", "limit", "100001")), "limit"),
                () -> assertBadParameter(history.get("/history" + query("limit", "100001"), "Accept", "application/x-ndjson"), "limit"),
                () -> assertBadParameter(history.get("/history" + query("limit", "1001")), "limit")));
        for (String limit : List.of("1001", "100000")) { // beyond JSON's 1,000
            checks.add(() -> {
                Answer many = history.get("/history" + query("format", "ndjson", "limit", limit, "order", "asc"));
                assertEquals(200, many.status(), limit + ": " + many);
                assertEquals(objects(recorded), objects(HistoryClient.ndjson(many)));
            });
        }
        assertAll(checks);
    }

    @Test
    void bad_parameters_are_400_naming_the_parameter() throws Exception {
        String id = recorded.get(3).id();
        String[][] cases = {
                {"topic", "a/#/b"}, {"topic", "#abc"}, {"topic", "a+"}, {"topic", "a/b+/c"}, {"topic", "ansible/\0"}, {"topic", "ansible/#/"},
                {"limit", "0"}, {"limit", "1000001"}, {"limit", "abc"}, {"limit", "-1"}, {"limit", "1001"}, {"limit", "1.5"},
                {"limit", "99999999999999999999"},
                {"since", "yesterday"}, {"since", "2026-13-45T00:00:00Z"}, {"since", "99999999999999999999"},
                {"until", "abc"}, {"until", "2026-12-06T25:00:00Z"},
                {"delta", "-5"}, {"delta", "abc"},
                {"order", "sideways"},
                {"after", "' OR 1=1 --"}, {"after", "a\0b"}, {"after", id + "\0"},
                {"before", "' OR 1=1 --"}, {"before", "a\0b"},
        };
        List<Executable> checks = new ArrayList<>();
        for (String[] bad : cases) {
            checks.add(() -> assertBadParameter(history.get("/history" + query(bad[0], bad[1])), bad[0]));
        }
        // one bad value among good ones
        checks.add(() -> assertBadParameter(history.get("/history" + query("topic", "ansible/#", "topic", "a/#/b", "limit", "5")), "topic"));
        checks.add(() -> assertBadParameter(history.get("/history" + query("since", between.toString(), "until", "abc")), "until"));
        checks.add(() -> assertBadParameter(history.get("/history" + query("format", "ndjson", "order", "sideways")), "order"));
        assertAll(checks);
    }

    @Test
    void hostile_input_is_never_a_5xx_and_changes_nothing() throws Exception {
        String topic10k = "ansible/" + "a".repeat(10 * 1024);
        Answer longTopic = history.get("/history" + query("topic", topic10k));
        assertTrue(longTopic.status() >= 400 && longTopic.status() < 500
                || longTopic.status() == 200 && history.page("/history" + query("topic", topic10k)).events().isEmpty(),
                "a 10 KB topic filter: refused or nothing found, " + longTopic);
        for (String path : List.of("/history/" + "a".repeat(10 * 1024), "/history/" + "a".repeat(10 * 1024) + "/payload",
                "/history/%00/payload", "/history/%00", "/history/a%00b", "/history/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                "/history?" + query("after", "a".repeat(10 * 1024)).substring(1))) {
            Answer answer = history.get(path);
            assertTrue(answer.status() >= 400 && answer.status() < 500, path.substring(0, Math.min(80, path.length())) + ": " + answer.status());
        }

        // valid SQL-looking values find nothing and break nothing
        Page dropTable = history.page("/history" + query("topic", "x'; DROP TABLE events; --"));
        assertEquals(List.of(), dropTable.ids());
        assertEquals(List.of(), history.page("/history" + query("topic", "ansible/' OR '1'='1")).ids());
        assertEquals(List.of(), history.page("/history" + query("topic", "ansible/\") OR 1=1 --/#")).ids());

        List<String> anything = new ArrayList<>(List.of(
                query("foo", "bar"), query("topic", ""), query("limit", ""), query("since", ""), query("after", ""),
                query("since", "-1"), query("since", "+1000000000-01-01T00:00:00Z"), query("until", "-1000000000-01-01T00:00:00Z"),
                query("until", "99999999999999999999"), query("until", "-99999999999999999999"), query("since", String.valueOf(Long.MAX_VALUE)),
                query("delta", "99999999999999999999"), query("delta", String.valueOf(Long.MAX_VALUE)), query("delta", "1e3"),
                query("delta", "1.5"), query("delta", "0"), query("delta", "3600", "since", startedAt.toString()),
                query("since", recordedAt.toString(), "until", startedAt.toString()),
                query("after", recorded.get(9).id(), "before", recorded.get(2).id()),
                query("after", recorded.get(9).id(), "order", "desc"),
                query("order", "ASC"), query("order", ""), query("format", "xml"), query("format", "ndjson", "format", "json"),
                query("limit", "1", "limit", "2"), query("order", "asc", "order", "desc"), query("limit", " 5"), query("limit", "0x10"),
                query("limit", "+5"), query("since", "2026-12-06"), query("since", "2026-12-06T12:00:00+01:00"),
                query("topic", "\uD83D\uDE00/#"), query("topic", "/"), query("topic", "//#"), query("topic", "$"),
                query("topic", "\u0001\u001f"), query("topic", "é".repeat(300)), query("callback", "alert(1)")));
        anything.add("?topic=%C3%28"); // not UTF-8 once decoded
        anything.add("?topic=%FF%FE");
        anything.add("?after=%C3%28");
        anything.add("?=&&=x&");
        anything.add("?topic");
        anything.add("?" + "topic=ansible/%23&".repeat(200)); // 200 filters, under the HTTP server's 4 KB request line
        anything.add("?" + "p=1&".repeat(900));
        for (String query : anything) {
            Answer answer = history.get("/history" + query);
            assertTrue(answer.status() < 500, query + ": " + answer);
            if (answer.status() == 200 && answer.mediaType().equals("application/json")) {
                JsonNode events = answer.json().get("events");
                assertTrue(events != null && events.isArray(), query + ": " + answer);
            } else if (answer.status() == 200) {
                assertEquals("application/x-ndjson", answer.mediaType(), query + ": " + answer);
                HistoryClient.ndjson(answer);
            }
        }
        for (String accept : List.of("text/html", "*/*", "application/x-ndjson;q=0, application/json", "application/xml", "", "a/b/c;;;q=x")) {
            Answer answer = history.get("/history" + query("limit", "3"), accept.isEmpty() ? new String[0] : new String[] {"Accept", accept});
            assertTrue(answer.status() < 500, accept + ": " + answer);
        }
        // request targets java.net.URI will not build, sent byte for byte
        for (String target : List.of("/history?topic=%", "/history?topic=%zz", "/history?limit=%", "/history?%=1", "/history?after=%G0",
                "/history/%", "/history/%zz", "/history/%zz/payload", "/history?topic=a%", "/history?topic=%E0%A4%A")) {
            int status = history.rawStatus(target);
            assertTrue(status < 500, target + ": " + status);
        }
        // read-only: other methods change nothing
        Event one = recorded.get(7);
        for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
            for (String path : List.of("/history", idPath(one.id()), idPath(one.id()) + "/payload")) {
                Answer answer = history.send(path, method);
                assertTrue(answer.status() >= 400 && answer.status() < 500, method + " " + path + ": " + answer);
            }
        }
        Answer still = history.get(idPath(one.id()));
        assertEquals(200, still.status(), still.toString());
        assertEquals(one.json(), still.json());

        assertEquals(ids(recorded), ids(history.page("/history" + query("order", "asc", "limit", "1000")).events()),
                "every event still there, and the API answers as before");
    }

    @Test
    void sys_topics_are_not_recorded() throws Exception {
        try (Subscriber sys = Subscriber.on(app.tcpUrl(), "$SYS/broker/uptime")) {
            sys.next(WAIT); // still being published
        }
        assertEquals(List.of(), history.page("/history" + query("topic", "$SYS/#", "limit", "1000")).ids());
        assertEquals(List.of(), history.page("/history" + query("topic", "$SYS/broker/uptime")).ids());
        List<Event> everything = history.page("/history" + query("topic", "#", "limit", "1000")).events();
        assertEquals(List.of(), everything.stream().map(Event::topic).filter(t -> t.startsWith("$")).toList());
        assertEquals(ids(newestFirst(recorded)), ids(everything));
        List<Event> anyTopic = history.page("/history" + query("topic", "#", "topic", "+/#", "topic", "$SYS/#", "limit", "1000")).events();
        assertEquals(ids(newestFirst(recorded)), ids(anyTopic));
    }

    @Test
    void answers_carry_access_control_allow_origin_star() throws Exception {
        String id = recorded.get(0).id();
        List<Answer> answers = List.of(
                history.get("/history", "Origin", "https://dashboard.example.org"),
                history.get("/history" + query("format", "ndjson", "limit", "3")),
                history.get("/history" + query("limit", "3"), "Accept", "application/x-ndjson"),
                history.get(idPath(id)),
                history.get(idPath(id) + "/payload", "Origin", "https://dashboard.example.org"),
                history.get("/history" + query("limit", "0")),
                history.get("/history/nope"),
                history.get("/history/nope/payload"));
        for (Answer answer : answers) {
            assertEquals("*", answer.header(CORS).orElse(null), answer.toString());
        }
        assertEquals(400, answers.get(5).status());
        assertEquals(404, answers.get(6).status());
    }

    @Test
    void mqtt5_subscribers_get_each_event_with_its_id_as_firehose_id() throws Exception {
        Await.until(WAIT, () -> firehoseIds.size() >= recorded.size(), () -> firehoseIds.size() + " of " + recorded.size() + " events received");
        List<String> received;
        synchronized (firehoseIds) {
            received = new ArrayList<>(firehoseIds.subList(0, recorded.size()));
        }
        assertEquals(ids(recorded), received);
        // the id resumes exactly
        String resumeAt = received.get(early - 1);
        assertEquals(ids(recorded.subList(early, recorded.size())), history.page("/history" + query("after", resumeAt)).ids());
    }

    /** Late: it publishes one more (the broker delivers each backslash as four, and should not). */
    @Test
    @Order(Integer.MAX_VALUE - 2)
    void a_topic_with_a_backslash_is_recorded_as_published() throws Exception {
        publishText("ansible/odd/back\\slash", "b1");
        List<Event> odd = history.awaitRecorded("ansible/odd", 1);
        assertEquals(List.of("ansible/odd/back\\slash"), topics(odd));
        assertEquals(ids(odd), history.page("/history" + query("topic", "ansible/odd/back\\slash")).ids());
    }

    /** Late: it publishes more. */
    @Test
    @Order(Integer.MAX_VALUE - 1)
    void paging_skips_and_repeats_nothing_while_events_keep_arriving() throws Exception {
        for (int i = 0; i < 9; i++) {
            publishJson("ansible/live/pre/" + i, "{\"pre\":" + i + "}");
        }
        history.awaitRecorded("ansible/live", 9);
        List<Event> present = history.all("/history" + query("order", "asc", "limit", "1000"));
        assertEquals(published.size(), present.size());

        // newest first over everything: a new event after each page is newer than the walk's cursor
        List<Event> walked = new ArrayList<>();
        int added = 0;
        for (String at = "/history" + query("limit", "25"); at != null; ) {
            Page page = history.page(at);
            walked.addAll(page.events());
            at = page.next();
            publishJson("ansible/live/new/" + added, "{\"new\":" + added + "}");
            added++;
            history.awaitRecorded("ansible/live", 9 + added);
        }
        assertEquals(ids(newestFirst(present)), ids(walked), "each event there when the walk began, once, in order; none added since");

        // oldest first within a subtree: the new events come at the end, each once
        List<Event> live = history.awaitRecorded("ansible/live", 9 + added);
        assertEquals(9 + added, live.size());
        List<Event> ascending = new ArrayList<>();
        int later = 0;
        for (String at = "/history" + query("topic", "ansible/live/#", "order", "asc", "limit", "3"); at != null; ) {
            Page page = history.page(at);
            ascending.addAll(page.events());
            at = page.next();
            if (later < 3) {
                publishJson("ansible/live/later/" + later, "{\"later\":" + later + "}");
                later++;
                history.awaitRecorded("ansible/live", 9 + added + later);
            }
        }
        List<Event> all = history.awaitRecorded("ansible/live", 9 + added + later);
        assertEquals(9 + added + 3, all.size());
        assertEquals(List.of("ansible/live/later/0", "ansible/live/later/1", "ansible/live/later/2"),
                topics(all.subList(all.size() - 3, all.size())));
        assertEquals(ids(all), ids(ascending), "the events there when the walk began, then the new ones, each once");
    }

    /**
     * Last: it publishes one more, that no answer listing it may be spoiled by. A JSON parser may skip a byte order
     * mark; the answer must still be JSON.
     */
    @Test
    @Order(Integer.MAX_VALUE)
    void a_json_payload_after_a_byte_order_mark_keeps_every_answer_json() throws Exception {
        byte[] payload = "\uFEFF{\"a\":1}".getBytes(StandardCharsets.UTF_8);
        publish("ansible/bom", payload, Kind.TEXT);
        String ndjson = "/history" + query("topic", "ansible/bom", "format", "ndjson");
        history.awaitAnswer(ndjson, answer -> answer.status() == 200 && !answer.text().isEmpty());
        Event event = HistoryClient.ndjson(history.get(ndjson)).get(0);
        assertTrue(event.payload().equals(JSON.readTree("{\"a\":1}")) || event.payload().equals(TextNode.valueOf("\uFEFF{\"a\":1}")),
                event.json().toString());
        assertEquals(List.of(event.json()), objects(history.page("/history" + query("topic", "ansible/bom")).events()));
        assertEquals(event.json(), history.get(idPath(event.id())).json());
        assertArrayEquals(payload, history.get(idPath(event.id()) + "/payload").body());
    }

    private static void assertWalk(String first, int limit, List<Event> expected) throws Exception {
        List<Page> pages = history.walk(first);
        for (Page page : pages) {
            assertTrue(page.events().size() <= limit, first + ": " + page.events().size() + " events");
            assertEquals(page.events().size() == limit, page.next() != null, first + ": next exactly when the page is full, " + page.answer());
            if (page.next() != null) {
                assertTrue(page.next().startsWith("/history?"), page.next());
            }
        }
        List<Event> events = pages.stream().flatMap(page -> page.events().stream()).toList();
        assertEquals(ids(expected), ids(events), first);
        assertEquals(expected.size() / limit + 1, pages.size(), first + ": pages");
    }

    private static void assertBadParameter(Answer answer, String parameter) {
        assertEquals(400, answer.status(), parameter + ": " + answer);
        assertEquals("application/json", answer.mediaType(), answer.toString());
        JsonNode error = answer.json().get("error");
        assertTrue(error != null && error.isTextual() && error.asText().contains(parameter), "the error names " + parameter + ": " + answer);
    }

    /** Bytes as bytes, JSON as JSON or bytes, text as text or bytes; never a type a browser would render or run. */
    private static void assertSensibleType(Published sent, Answer payload) {
        if (sent.payload().length == 0) {
            return; // nothing to type
        }
        String type = payload.mediaType();
        String full = payload.header("Content-Type").orElse("").toLowerCase();
        String at = sent.topic() + ": " + full;
        if (type.startsWith("text/")) {
            assertTrue(full.replace(" ", "").contains("charset=utf-8"), "text with its charset: " + at);
        }
        Set<String> sensible = switch (sent.kind()) {
            case JSON -> Set.of("application/json", "application/octet-stream");
            case TEXT -> Set.of("text/plain", "application/octet-stream");
            case BYTES -> Set.of("application/octet-stream");
        };
        assertTrue(sensible.contains(type), at);
    }

    private static org.eclipse.paho.mqttv5.client.MqttClient firehoseIdCollector() throws MqttException {
        org.eclipse.paho.mqttv5.client.MqttClient client =
                new org.eclipse.paho.mqttv5.client.MqttClient(app.tcpUrl(), Clients.id("history-v5"), null);
        client.setTimeToWait(WAIT.toMillis());
        client.setCallback(new Mqtt5Callbacks() {
            @Override
            public void messageArrived(String topic, org.eclipse.paho.mqttv5.common.MqttMessage message) {
                List<UserProperty> properties = message.getProperties() == null ? List.of() : message.getProperties().getUserProperties();
                firehoseIds.add(properties.stream().filter(p -> p.getKey().equals("firehose-id")).map(UserProperty::getValue).findFirst()
                        .orElse("none on " + topic));
            }
        });
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(true);
        options.setAutomaticReconnect(false);
        options.setConnectionTimeout(10);
        client.connect(options);
        client.subscribe("ansible/#", 1);
        return client;
    }

    private static void publishJson(String topic, String payload) throws Exception {
        publish(topic, payload.getBytes(StandardCharsets.UTF_8), Kind.JSON);
    }

    private static void publishText(String topic, String payload) throws Exception {
        publish(topic, payload.getBytes(StandardCharsets.UTF_8), Kind.TEXT);
    }

    private static void publish(String topic, byte[] payload, Kind kind) throws Exception {
        MqttMessage message = new MqttMessage(payload);
        message.setQos(1);
        publisher.publish(topic, message); // returns once acknowledged
        published.add(new Published(topic, payload, kind));
    }

    private static long millis(Event event) {
        return Instant.parse(event.received()).toEpochMilli();
    }

    private static List<Event> newestFirst(List<Event> events) {
        List<Event> reversed = new ArrayList<>(events);
        Collections.reverse(reversed);
        return reversed;
    }

    private static Event last(List<Event> events) {
        return events.get(events.size() - 1);
    }

    private static List<String> topics(List<Event> events) {
        return events.stream().map(Event::topic).toList();
    }

    private static List<JsonNode> objects(List<Event> events) {
        return events.stream().map(e -> (JsonNode) e.json()).toList();
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static String shortened(String text) {
        return text.length() <= 60 ? text : text.substring(0, 40) + "…(" + text.length() + " characters)";
    }

    private static Predicate<Event> topicIn(String... topics) {
        Set<String> set = Set.of(topics);
        return event -> set.contains(event.topic());
    }
}
