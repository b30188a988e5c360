package viewer;

import static history.HistoryClient.query;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import firehose.Browser;
import firehose.Clients;
import firehose.FirehoseApp;
import history.HistoryClient;
import history.HistoryClient.Event;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A browser's own {@code EventSource} on {@code GET /events}, in Debian's chromium: it follows the bus,
 * and when the application stops and starts again it reconnects by itself with {@code Last-Event-ID}, missing nothing
 * and getting nothing twice.
 */
class EventSourceIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int BEFORE = 20;
    private static final int AFTER = 20;

    @Test
    void an_event_source_resumes_across_a_restart_with_every_event_once_in_order(@TempDir Path data) throws Exception {
        ChromeDriver browser = Browser.open(800, 600);
        FirehoseApp app = FirehoseApp.builder(data.resolve("app")).start();
        try {
            browser.get(app.httpUrl() + "/history"); // any page of the same origin
            browser.executeScript("""
                    window.got = [];
                    window.opened = 0;
                    const source = new EventSource('/events?topic=ansible/%23&since=0');
                    source.onopen = () => window.opened++;
                    source.onmessage = e => window.got.push({id: e.lastEventId, data: e.data});
                    window.source = source;
                    """);
            WebDriverWait wait = new WebDriverWait(browser, WAIT);
            wait.until(d -> number(browser, "return window.opened") == 1);

            publish(app, "ansible/sse/before/", BEFORE);
            wait.until(d -> number(browser, "return window.got.length") >= BEFORE);

            app.close();
            wait.until(d -> number(browser, "return window.source.readyState") == 0); // CONNECTING: it noticed, and tries again
            app.start();
            wait.until(d -> number(browser, "return window.opened") == 2);
            publish(app, "ansible/sse/after/", AFTER);
            publish(app, "ansible/sse/end/", 1); // whatever came twice would come before this one
            wait.until(d -> number(browser, "return window.got.length") >= BEFORE + AFTER + 1);

            List<Event> recorded = new HistoryClient(app.httpUrl())
                    .all("/history" + query("topic", "ansible/#", "order", "asc", "limit", "1000"));
            assertEquals(BEFORE + AFTER + 1, recorded.size(), "every event published is recorded once, across the restart");
            List<String> ids = new ArrayList<>();
            List<JsonNode> objects = new ArrayList<>();
            for (Object one : (List<?>) browser.executeScript("return window.got")) {
                Map<?, ?> message = (Map<?, ?>) one;
                ids.add((String) message.get("id"));
                objects.add(HistoryClient.JSON.readTree((String) message.get("data")));
            }
            assertEquals(HistoryClient.ids(recorded), ids, "every event once, in order, before and after the restart");
            assertEquals(recorded.stream().map(e -> (JsonNode) e.json()).toList(), objects);
            assertTrue(recorded.get(BEFORE).topic().startsWith("ansible/sse/after/"), recorded.get(BEFORE).topic());
            assertEquals(1L, number(browser, "return window.source.readyState"), "OPEN");
        } finally {
            browser.quit();
            app.close();
        }
    }

    private static void publish(FirehoseApp app, String prefix, int count) throws Exception {
        MqttClient publisher = Clients.publisher(app.tcpUrl());
        try {
            for (int i = 0; i < count; i++) {
                Clients.publish(publisher, prefix + i, "{\"i\":" + i + "}", 1, false);
            }
        } finally {
            Clients.close(publisher);
        }
    }

    private static long number(ChromeDriver browser, String script) {
        return ((Number) browser.executeScript(script)).longValue();
    }
}
