package gerrit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class GerritEventTest {

    private static GerritEvent parse(String json) throws GerritEvent.NotAnEvent {
        return GerritEvent.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void project_comes_from_project_then_change_then_ref_update_then_project_name() throws Exception {
        assertEquals("a", parse("{\"type\":\"t\",\"project\":\"a\",\"change\":{\"project\":\"b\"}}").project());
        assertEquals("b", parse("{\"type\":\"t\",\"change\":{\"project\":\"b\"},\"refUpdate\":{\"project\":\"c\"}}").project());
        assertEquals("c", parse("{\"type\":\"t\",\"refUpdate\":{\"project\":\"c\"},\"projectName\":\"d\"}").project());
        assertEquals("d", parse("{\"type\":\"t\",\"projectName\":\"d\"}").project());
        assertEquals("e", parse("{\"type\":\"t\",\"project\":{\"name\":\"e\"}}").project());
    }

    @Test
    void topic_keeps_slashes_of_the_project_and_drops_a_missing_one() throws Exception {
        assertEquals("gerrit/openstack/nova/comment-added", parse("{\"type\":\"comment-added\",\"project\":\"openstack/nova\"}").topic("gerrit"));
        assertEquals("gerrit/dropped-output", parse("{\"type\":\"dropped-output\"}").topic("gerrit"));
        assertEquals("gerrit/a%23b%2B/x", parse("{\"type\":\"x\",\"project\":\"a#b+\"}").topic("gerrit"));
    }

    @Test
    void lines_that_are_not_json_objects_are_refused() {
        assertThrows(GerritEvent.NotAnEvent.class, () -> parse("garbage"));
        assertThrows(GerritEvent.NotAnEvent.class, () -> parse("[1,2]"));
        assertThrows(GerritEvent.NotAnEvent.class, () -> parse("\"string\""));
        assertThrows(GerritEvent.NotAnEvent.class, () -> parse("{\"type\":\"comment-added\",\"proj"));
    }
}
