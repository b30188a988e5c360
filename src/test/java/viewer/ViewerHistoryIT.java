package viewer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import firehose.Await;
import firehose.Browser;
import firehose.Clients;
import firehose.FirehoseApp;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The viewer shows the recorded events of its filter (GET /history) below the live ones, in a real browser (Debian's
 * chromium). Each test publishes under its own subtree, before the page opens, and waits until the history has them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ViewerHistoryIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int MAX_EVENTS = 200; // four pages of 50
    private static final ObjectMapper JSON = new ObjectMapper();

    private FirehoseApp app;
    private ChromeDriver browser;
    private MqttClient publisher;

    @BeforeAll
    void start(@TempDir Path data) throws Exception {
        browser = Browser.open(1200, 900);
        app = FirehoseApp.builder(data.resolve("app"))
                .set("firehose.history.enabled", "true")
                .set("firehose.viewer.max-events", String.valueOf(MAX_EVENTS)).start();
        publisher = Clients.publisher(app.tcpUrl());
    }

    @AfterAll
    void stop() {
        if (publisher != null) {
            Clients.close(publisher);
        }
        if (browser != null) {
            browser.quit();
        }
        if (app != null) {
            app.close();
        }
    }

    @Test
    void on_opening_the_recorded_events_come_first_marked_earlier_newest_first_and_live_events_go_above_them() throws Exception {
        publish("ansible/opening/1", "{\"step\":1}");
        publish("ansible/opening/2", "plain text");
        publish("ansible/opening/3", "{\"step\":3,\"host\":{\"name\":\"node-1\"}}");
        awaitRecorded("ansible/opening/#", 3);
        open();
        // nothing else is published on this bus since: the newest recorded events of # are these three
        List<WebElement> shown = events();
        assertEquals(List.of("ansible/opening/3", "ansible/opening/2", "ansible/opening/1"),
                shown.subList(0, 3).stream().map(ViewerHistoryIT::topicOf).toList(), "newest first");
        for (WebElement event : shown) {
            assertTrue(earlier(event), "marked earlier: " + topicOf(event));
            assertEquals("recorded", event.findElement(By.className("label")).getText());
        }
        assertEquals("{\n  \"step\": 3,\n  \"host\": {\n    \"name\": \"node-1\"\n  }\n}", textOf(shown.get(0)), "pretty-printed");
        assertEquals("plain text", textOf(shown.get(1)));
        assertTrue(shown.get(0).findElement(By.tagName("time")).getText().matches("(\\d{4}-\\d\\d-\\d\\d )?\\d\\d:\\d\\d:\\d\\d\\.\\d{3}"),
                "the server's time of receipt, with the day when not today");

        int recorded = shown.size();
        publish("ansible/opening/live", "{\"live\":true}");
        awaitEvents(recorded + 1);
        List<WebElement> after = events();
        assertEquals("ansible/opening/live", topicOf(after.get(0)), "live above the recorded ones");
        assertFalse(earlier(after.get(0)), "a live event is not marked earlier");
        assertTrue(after.get(0).findElements(By.className("label")).isEmpty());
        assertEquals(List.of("ansible/opening/3", "ansible/opening/2", "ansible/opening/1"),
                after.subList(1, 4).stream().map(ViewerHistoryIT::topicOf).toList());
        assertEquals(recorded, browser.findElements(By.cssSelector("#events > li.earlier")).size());
    }

    @Test
    void a_new_filter_fetches_the_recorded_events_of_that_filter_only() throws Exception {
        publish("ansible/filter/a/1", "a1");
        publish("ansible/filter/b/1", "b1");
        publish("ansible/filter/a/2", "a2");
        awaitRecorded("ansible/filter/#", 3);
        open();
        applyFilter("ansible/filter/a/#");
        assertEquals(List.of("ansible/filter/a/2", "ansible/filter/a/1"), topics());
        assertTrue(events().stream().allMatch(ViewerHistoryIT::earlier));
        applyFilter("ansible/filter/+/1");
        assertEquals(List.of("ansible/filter/b/1", "ansible/filter/a/1"), topics());
        assertEquals(List.of("b1", "a1"), events().stream().map(ViewerHistoryIT::textOf).toList());
        assertFalse(browser.findElement(By.id("older")).isDisplayed(), "no older events: no Load older");
    }

    @Test
    void load_older_appends_the_next_page_of_older_events_each_once_then_goes_away() throws Exception {
        for (int i = 0; i < 60; i++) {
            publish("ansible/older/" + i, "{\"seq\":" + i + "}");
        }
        awaitRecorded("ansible/older/#", 60);
        open();
        applyFilter("ansible/older/#");
        assertEquals(descending(59, 10), topics().stream().map(ViewerHistoryIT::seq).toList(), "the latest page, newest first");
        WebElement older = browser.findElement(By.id("older"));
        assertTrue(older.isDisplayed() && older.isEnabled(), "a full page: there may be older events");
        older.click();
        awaitEvents(60);
        assertEquals(descending(59, 0), topics().stream().map(ViewerHistoryIT::seq).toList(), "the older ones appended, each once");
        assertTrue(events().stream().allMatch(ViewerHistoryIT::earlier));
        new WebDriverWait(browser, WAIT).until(d -> !d.findElement(By.id("older")).isDisplayed());
    }

    @Test
    void older_events_fill_the_bounded_list_and_no_more() throws Exception {
        for (int i = 0; i < 250; i++) {
            publish("ansible/bounded/" + i, String.valueOf(i));
        }
        awaitRecorded("ansible/bounded/#", 250);
        open();
        applyFilter("ansible/bounded/#");
        for (int shown = 50; shown < MAX_EVENTS; shown += 50) {
            assertEquals(shown, events().size());
            browser.findElement(By.id("older")).click();
            awaitEvents(shown + 50);
        }
        new WebDriverWait(browser, WAIT).until(d -> !d.findElement(By.id("older")).isEnabled());
        assertTrue(browser.findElement(By.id("older")).isDisplayed(), "older events exist, but the list is full");
        assertEquals(descending(249, 50), topics().stream().map(ViewerHistoryIT::seq).toList(), "as many as the list holds");
        assertTrue(browser.findElement(By.id("shown")).getText().startsWith(MAX_EVENTS + " shown"));

        publish("ansible/bounded/live", "live");
        new WebDriverWait(browser, WAIT).until(d -> !events().isEmpty() && topicOf(events().get(0)).equals("ansible/bounded/live"));
        assertEquals(MAX_EVENTS, events().size(), "still bounded: the oldest left");
        assertEquals("ansible/bounded/51", topicOf(events().get(MAX_EVENTS - 1)));
    }

    @Test
    void events_published_while_the_page_changes_its_filter_are_shown_once_in_order() throws Exception {
        open();
        AtomicBoolean publishing = new AtomicBoolean(true);
        AtomicInteger sent = new AtomicInteger();
        List<Exception> failures = new ArrayList<>();
        Thread flood = new Thread(() -> {
            try {
                long next = System.nanoTime();
                while (publishing.get()) { // 100 a second: the list holds both the recorded ones and the live ones
                    LockSupport.parkNanos(next - System.nanoTime());
                    publish("ansible/race/" + sent.get(), "{\"seq\":" + sent.get() + "}");
                    sent.incrementAndGet();
                    next += 10_000_000L;
                }
            } catch (Exception e) {
                failures.add(e);
            }
        }, "race-publisher");
        flood.start();
        try {
            Await.until(WAIT, () -> sent.get() >= 20, () -> sent.get() + " published");
            applyFilter("ansible/race/#");
            // awaited at once (the history answers after the new subscription is confirmed), and polled often: the live
            // events that keep coming push the recorded ones out of the bounded list within a couple of seconds
            new WebDriverWait(browser, WAIT, Duration.ofMillis(50)).withMessage("recorded events shown")
                    .until(d -> !d.findElements(By.cssSelector("#events > li.earlier")).isEmpty());
            int atSwitch = sent.get();
            Await.until(WAIT, () -> sent.get() >= atSwitch + 5, () -> sent.get() + " published");
        } finally {
            publishing.set(false);
            flood.join(WAIT.toMillis());
        }
        assertTrue(failures.isEmpty(), failures.toString());
        String last = "ansible/race/" + (sent.get() - 1);
        new WebDriverWait(browser, WAIT).until(d -> !events().isEmpty() && topicOf(events().get(0)).equals(last));
        List<Integer> seqs = topics().stream().map(ViewerHistoryIT::seq).toList();
        assertEquals(seqs.size(), new HashSet<>(seqs).size(), "each event once: " + seqs);
        assertEquals(seqs.stream().sorted((a, b) -> b - a).toList(), seqs, "newest first");
        assertFalse(earlier(events().get(0)), "the newest came live");
    }

    @Test
    void a_recorded_payload_and_topic_are_shown_as_text_and_run_nothing() throws Exception {
        String comment = "<img src=x onerror=\"document.body.dataset.pwned='img';alert(1)\"> and </script><script>document.body.dataset.pwned='script'</script>";
        publish("ansible/xss/json", JSON.writeValueAsString(Map.of("comment", comment)));
        publish("ansible/xss/text", "<img src=x onerror=alert(1)>");
        publish("ansible/xss/<img src=x onerror=alert(2)>", "<b>bold?</b><script>alert(3)</script>");
        awaitRecorded("ansible/xss/#", 3);
        open();
        applyFilter("ansible/xss/#");
        List<WebElement> shown = events();
        assertEquals(List.of("ansible/xss/<img src=x onerror=alert(2)>", "ansible/xss/text", "ansible/xss/json"), topics());
        assertEquals("<b>bold?</b><script>alert(3)</script>", textOf(shown.get(0)));
        assertEquals("<img src=x onerror=alert(1)>", textOf(shown.get(1)));
        assertTrue(textOf(shown.get(2)).contains(comment.replace("\"", "\\\"")), textOf(shown.get(2)));
        assertTrue(shown.stream().allMatch(ViewerHistoryIT::earlier));
        assertTrue(browser.findElements(By.cssSelector("#events img, #events script, #events b")).isEmpty(), "no element made from a payload");
        assertEquals(null, browser.findElement(By.tagName("body")).getAttribute("data-pwned"), "no script ran");
        assertThrows(NoAlertPresentException.class, () -> browser.switchTo().alert());
    }

    private void publish(String topic, String payload) throws Exception {
        Clients.publish(publisher, topic, payload, 1, false);
    }

    /** Waits until {@code GET /history} has at least {@code count} events of {@code filter}. */
    private void awaitRecorded(String filter, int count) throws InterruptedException {
        String url = app.httpUrl() + "/history?limit=1000&topic=" + URLEncoder.encode(filter, StandardCharsets.UTF_8);
        HttpClient http = HttpClient.newHttpClient();
        Await.until(WAIT, () -> {
            try {
                HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(WAIT).build(), HttpResponse.BodyHandlers.ofString());
                JsonNode events = answer.statusCode() == 200 ? JSON.readTree(answer.body()).path("events") : null;
                return events != null && events.size() >= count;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, () -> count + " events of " + filter + " recorded");
    }

    /** Opens the page (filter #) and waits until it subscribed and showed what was recorded. */
    private void open() {
        browser.get(app.httpUrl() + "/");
        awaitHistoryShown("#");
    }

    private void applyFilter(String filter) {
        WebElement input = browser.findElement(By.id("filter"));
        input.clear();
        input.sendKeys(filter);
        browser.findElement(By.id("apply")).click();
        awaitHistoryShown(filter);
    }

    private void awaitHistoryShown(String filter) {
        new WebDriverWait(browser, WAIT).withMessage(() -> "history of " + filter + " shown; the page: " + pageState()).until(d -> {
            WebElement body = d.findElement(By.tagName("body"));
            return filter.equals(body.getAttribute("data-subscribed")) && "shown".equals(body.getAttribute("data-history"))
                    && filter.equals(body.getAttribute("data-history-filter"));
        });
    }

    /** What the page says of its subscription and history, for a failure's message. */
    private String pageState() {
        WebElement body = browser.findElement(By.tagName("body"));
        return "subscribed=" + body.getAttribute("data-subscribed") + " history=" + body.getAttribute("data-history")
                + " history-filter=" + body.getAttribute("data-history-filter") + " note='"
                + browser.findElement(By.id("history-note")).getText() + "' state='" + browser.findElement(By.id("state")).getText() + "'";
    }

    private void awaitEvents(int count) {
        new WebDriverWait(browser, WAIT).until(d -> events().size() >= count);
    }

    private List<WebElement> events() {
        return browser.findElements(By.cssSelector("#events > li"));
    }

    private List<String> topics() {
        return events().stream().map(ViewerHistoryIT::topicOf).toList();
    }

    private static List<Integer> descending(int from, int to) {
        return IntStream.iterate(from, i -> i >= to, i -> i - 1).boxed().toList();
    }

    private static int seq(String topic) {
        return Integer.parseInt(topic.substring(topic.lastIndexOf('/') + 1));
    }

    private static boolean earlier(WebElement event) {
        return event.getAttribute("class").contains("earlier");
    }

    private static String topicOf(WebElement event) {
        return event.findElement(By.className("topic")).getAttribute("textContent");
    }

    private static String textOf(WebElement event) {
        return event.findElement(By.tagName("pre")).getAttribute("textContent");
    }
}
