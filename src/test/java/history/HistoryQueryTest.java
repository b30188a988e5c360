package history;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.Predicate;

import broker.events.EventIds;
import org.apache.activemq.artemis.core.config.WildcardConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HistoryQueryTest {

    private static final long NOW = 1_765_000_000_000L;

    private static HistoryQuery parse(String raw) {
        return HistoryQuery.parse(raw, false, NOW);
    }

    @Test
    void defaults_are_every_topic_newest_first_a_hundred() {
        HistoryQuery query = parse("");
        assertEquals(List.of(new TopicPattern("#")), query.topics());
        assertFalse(query.ascending());
        assertEquals(100, query.limit());
        assertNull(query.lowest());
        assertNull(query.highest());
        assertFalse(query.ndjson());
    }

    @Test
    void a_plus_is_the_mqtt_wildcard_and_topics_repeat() {
        HistoryQuery query = parse("topic=gerrit/+/nova/%23&topic=launchpad/%2B/bug/1");
        assertEquals(List.of(new TopicPattern("gerrit/+/nova/#"), new TopicPattern("launchpad/+/bug/1")), query.topics());
    }

    @Test
    void after_orders_oldest_first_unless_told_and_next_moves_the_cursor() {
        String id = "0123456789abcdef012345";
        HistoryQuery query = parse("after=" + id + "&topic=a/%23&limit=2");
        assertTrue(query.ascending());
        assertEquals("/history?topic=a/%23&limit=2&after=fedcba9876543210fedcba&order=asc", query.next("fedcba9876543210fedcba"));
        assertFalse(parse("after=" + id + "&order=desc").ascending());
        assertEquals("/history?before=fedcba9876543210fedcba&order=desc", parse("").next("fedcba9876543210fedcba"));
    }

    @Test
    void times_are_instants_or_epoch_milliseconds_and_delta_counts_back_from_until_or_now() {
        assertEquals(EventIds.lowestAt(1_765_000_000_000L), parse("since=2025-12-06T05:46:40Z").lowest());
        assertEquals(EventIds.lowestAt(1_765_000_000_000L), parse("since=1765000000000").lowest());
        assertEquals(EventIds.lowestAt(1_765_000_000_001L), parse("until=1765000000000").highest());
        assertEquals(EventIds.lowestAt(NOW - 3_600_000), parse("delta=3600").lowest());
        assertEquals(EventIds.lowestAt(1_000_000 - 60_000), parse("until=1000000&delta=60").lowest());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "topic=a/%23/b|topic", "topic=%23abc|topic", "topic=a%2B|topic", "topic=|topic", "topic=a%00b|topic",
        "limit=0|limit", "limit=1001|limit", "limit=abc|limit", "limit=-1|limit", "limit=1000001|limit",
        "since=yesterday|since", "since=2026-13-45T00:00:00Z|since", "until=abc|until", "delta=-5|delta", "delta=abc|delta",
        "order=sideways|order", "after=%27%20OR%201=1%20--|after", "before=x|before", "format=xml|format",
        "since=1&delta=5|delta", "since=2000&until=1000|since", "limit=1&limit=2|limit", "bogus=1|bogus", "topic=%E0%A4|topic",
        "topic=%zz|topic"})
    void a_bad_parameter_is_refused_by_name(String raw, String name) {
        HistoryQuery.BadParameter bad = assertThrows(HistoryQuery.BadParameter.class, () -> parse(raw));
        assertTrue(bad.getMessage().contains(name), bad.getMessage());
    }

    @Test
    void ndjson_allows_large_exports_json_pages_do_not() {
        assertEquals(100_000, HistoryQuery.parse("limit=100000", true, NOW).limit());
        assertEquals(100_000, parse("limit=100000&format=ndjson").limit());
        assertThrows(HistoryQuery.BadParameter.class, () -> parse("limit=100000"));
        assertThrows(HistoryQuery.BadParameter.class, () -> parse("limit=100001&format=ndjson"));
        assertFalse(HistoryQuery.parse("format=json", true, NOW).ndjson(), "format wins over Accept");
    }

    @Test
    void a_ten_kilobyte_filter_is_read_a_longer_one_refused() {
        assertEquals(1, parse("topic=" + "a/".repeat(5_000) + "b").topics().size());
        assertThrows(HistoryQuery.BadParameter.class, () -> parse("topic=" + "a".repeat(70_000)));
    }

    @ParameterizedTest
    @CsvSource({"gerrit/openstack/nova/#,gerrit/openstack/nova,gerrit/openstack/nova%",
        "gerrit/+/nova/comment-added,gerrit,gerrit/%/nova/comment-added", "#,'',%", "+/x,'',%/x",
        "a_b/c%d,a_b/c%d,a\\_b/c\\%d"})
    void filters_give_the_store_an_index_range_and_a_narrowing_pattern(String filter, String prefix, String like) {
        TopicPattern pattern = TopicPattern.parse(filter);
        assertEquals(prefix, pattern.prefix());
        assertEquals(like, pattern.like());
    }

    @ParameterizedTest
    @ValueSource(strings = {"a/b", "ansible/core/a.b", "a\\b/c", "a*b/c", "x/a#b", "a//b", "/x/", "é/ü.\\."})
    void a_topic_read_back_from_its_core_address_is_the_topic_published(String topic) {
        WildcardConfiguration wildcards = new WildcardConfiguration();
        String core = org.apache.activemq.artemis.core.protocol.mqtt.MQTTUtil.getCoreAddressFromMqttTopic(topic, wildcards);
        assertEquals(topic, TopicPattern.mqttTopic(core, wildcards));
    }

    @Test
    void a_topics_own_dot_is_no_level_for_the_matcher() {
        Predicate<String> matches = TopicPattern.parse("ansible/core/+").matcher(new WildcardConfiguration());
        assertTrue(matches.test("ansible/core/a.b"));
        assertFalse(matches.test("ansible/core/a/b"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gerrit/openstack/nova/#", "gerrit/+/nova/comment-added", "gerrit/#", "+/+/+/+", "#", "gerrit/openstack/nova/comment-added"})
    void matching_is_the_brokers(String filter) {
        Predicate<String> matches = TopicPattern.parse(filter).matcher(new WildcardConfiguration());
        assertTrue(matches.test("gerrit/openstack/nova/comment-added"));
        boolean deeper = filter.endsWith("#") && filter.contains("/") || filter.equals("#");
        assertEquals(deeper, matches.test("gerrit/openstack/nova/a/b"), "a deeper topic");
        assertEquals(!filter.contains("nova"), matches.test("gerrit/openstack/neutron/comment-added"), "another project");
    }
}
