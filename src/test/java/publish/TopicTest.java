package publish;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TopicTest {

    @Test
    void wildcards_nul_and_percent_are_percent_encoded_and_slashes_stay() {
        assertEquals("a%2Bb%23c%00d%25e/f", Topic.level("a+b#c\0d%e/f"));
        assertEquals("plain-level_1.2", Topic.level("plain-level_1.2"));
    }

    @Test
    void topic_is_cut_at_the_first_missing_level() {
        assertEquals("launchpad/nova/bug/1905297", Topic.of("launchpad", "nova", "bug", "1905297"));
        assertEquals("launchpad/nova/bug", Topic.of("launchpad", "nova", "bug", null));
        assertEquals("launchpad/nova", Topic.of("launchpad", "nova", "", "1905297"));
        assertEquals("launchpad", Topic.of("launchpad", (String) null, "bug"));
        assertEquals("gerrit/openstack/nova/comment-added", Topic.of("gerrit", "openstack/nova", "comment-added"));
    }
}
