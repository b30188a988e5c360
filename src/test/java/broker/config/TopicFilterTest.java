package broker.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TopicFilterTest {

    @Test
    void hash_matches_the_level_and_everything_below() {
        TopicFilter ansible = TopicFilter.of("ansible/#");
        assertTrue(ansible.matches("ansible"));
        assertTrue(ansible.matches("ansible/playbook/1234/task"));
        assertFalse(ansible.matches("ansiblex/playbook"));
        assertFalse(ansible.matches("zuul/ansible"));
    }

    @Test
    void plus_matches_exactly_one_level() {
        TopicFilter status = TopicFilter.of("zuul/+/status");
        assertTrue(status.matches("zuul/gate/status"));
        assertTrue(status.matches("zuul//status"));
        assertFalse(status.matches("zuul/gate/x/status"));
        assertFalse(status.matches("zuul/gate"));
    }

    @Test
    void leading_wildcards_do_not_match_dollar_topics() {
        assertFalse(TopicFilter.of("#").matches("$SYS/broker/uptime"));
        assertFalse(TopicFilter.of("+/broker/uptime").matches("$SYS/broker/uptime"));
        assertTrue(TopicFilter.of("$SYS/#").matches("$SYS/broker/uptime"));
    }

    @Test
    void exact_filter_matches_only_itself() {
        assertTrue(TopicFilter.of("a/b").matches("a/b"));
        assertFalse(TopicFilter.of("a/b").matches("a/b/c"));
        assertFalse(TopicFilter.of("a/b").matches("a"));
    }

    @Test
    void malformed_filters_are_refused() {
        assertThrows(IllegalArgumentException.class, () -> TopicFilter.of("ansible/#/x"));
        assertThrows(IllegalArgumentException.class, () -> TopicFilter.of("ansible#"));
        assertThrows(IllegalArgumentException.class, () -> TopicFilter.of("a+/b"));
    }
}
