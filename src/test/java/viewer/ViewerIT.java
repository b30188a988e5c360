package viewer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.locks.LockSupport;

import com.fasterxml.jackson.databind.ObjectMapper;
import firehose.Browser;
import firehose.Clients;
import firehose.FirehoseApp;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import launchpad.BugMail;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The live web viewer in a real browser (Debian's chromium), against the running application and real publishers.
 * History is off here: this is the page live only, as it must stay without one; ViewerHistoryIT shows recorded events.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ViewerIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String SAMPLES = "samples";
    private static final String SAMPLES_PASSWORD = "samples-secret-1234";

    private FirehoseApp app;
    private ChromeDriver browser;
    private MqttClient publisher;

    @BeforeAll
    void start(@TempDir Path data) throws Exception {
        browser = Browser.open(1200, 900);
        app = FirehoseApp.builder(data.resolve("app"))
                .set("firehose.broker.sys-interval", "1")
                .set("firehose.history.enabled", "false")
                .set("firehose.publisher[" + SAMPLES + "].password", SAMPLES_PASSWORD)
                .set("firehose.publisher[" + SAMPLES + "].topics", "gerrit/#,launchpad/#,zuul/#,ansible/#,gearman-subunit/#").start();
        publisher = Clients.connect(app.tcpUrl(), SAMPLES, SAMPLES_PASSWORD);
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

    @BeforeEach
    void openPage() {
        browser.manage().window().setSize(new Dimension(1200, 900));
        browser.get(app.httpUrl() + "/");
        awaitSubscribed("#");
    }

    @Test
    void each_event_links_to_its_json_schema_and_the_page_to_the_asyncapi_document() throws Exception {
        publish("gerrit/openstack/nova/comment-added", "{\"type\":\"comment-added\"}");
        publish("gerrit/openstack/nova/some-future-event", "{\"type\":\"some-future-event\"}");
        publish("launchpad/nova/bug/1905297", "{\"event-type\":\"bug\"}");
        publish("launchpad/nova", "{\"subject\":\"[Question #1] help\"}");
        publish("gearman-subunit/ci01/openstack/nova/123456", "{\"status\":\"success\"}");
        publish("ansible/playbook/2/start", "{}");
        publish("zuul/check/nova/master/1", "{}");
        awaitEvents(7);
        Map<String, String> links = new LinkedHashMap<>();
        for (WebElement event : events()) {
            List<WebElement> link = event.findElements(By.cssSelector("a.schema"));
            links.put(topicOf(event), link.isEmpty() ? null : link.get(0).getAttribute("href").replace(app.httpUrl(), ""));
        }
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("zuul/check/nova/master/1", "/schemas/zuul/event.json");
        expected.put("ansible/playbook/2/start", "/schemas/ansible/event.json");
        expected.put("gearman-subunit/ci01/openstack/nova/123456", "/schemas/subunit/result.json");
        expected.put("launchpad/nova", "/schemas/launchpad/notification.json");
        expected.put("launchpad/nova/bug/1905297", "/schemas/launchpad/bug.json");
        expected.put("gerrit/openstack/nova/some-future-event", "/schemas/gerrit/event.json");
        expected.put("gerrit/openstack/nova/comment-added", "/schemas/gerrit/comment-added.json");
        assertEquals(expected, links);
        HttpClient http = HttpClient.newHttpClient();
        for (String path : expected.values()) {
            assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(app.httpUrl() + path)).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode(), path);
        }
        String document = browser.findElement(By.id("asyncapi")).getAttribute("href");
        HttpResponse<String> asyncapi = http.send(HttpRequest.newBuilder(URI.create(document)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, asyncapi.statusCode(), document);
        assertTrue(asyncapi.body().startsWith("asyncapi: 3.0.0") || asyncapi.body().contains("\nasyncapi: 3.0.0"), asyncapi.body());
    }

    @Test
    void published_events_appear_newest_first_with_topic_time_and_pretty_json() throws Exception {
        publish("ansible/playbook/1/start", "{\"ok\":true,\"host\":{\"name\":\"node-1\",\"tasks\":[1,2]}}");
        publish("ansible/playbook/1/note", "plain text, not JSON");
        awaitEvents(2);
        List<WebElement> events = events();
        assertEquals("ansible/playbook/1/note", topicOf(events.get(0)), "newest first");
        assertEquals("plain text, not JSON", textOf(events.get(0)));
        assertEquals("ansible/playbook/1/start", topicOf(events.get(1)));
        assertEquals("{\n  \"ok\": true,\n  \"host\": {\n    \"name\": \"node-1\",\n    \"tasks\": [\n      1,\n      2\n    ]\n  }\n}",
                textOf(events.get(1)), "pretty-printed");
        assertTrue(events.get(1).getAttribute("class").contains("src-ansible"), "coloured by source");
        assertTrue(events.get(1).findElement(By.tagName("time")).getText().matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3}"));
        // collapsible: a click on the summary folds the JSON away
        WebElement details = events.get(1).findElement(By.tagName("details"));
        details.findElement(By.tagName("summary")).click();
        assertFalse(details.findElement(By.tagName("pre")).isDisplayed());
    }

    @Test
    void a_new_filter_replaces_the_subscription_and_the_commands_follow_it() throws Exception {
        WebElement filter = browser.findElement(By.id("filter"));
        filter.clear();
        filter.sendKeys("zuul/check/#");
        browser.findElement(By.id("apply")).click();
        awaitSubscribed("zuul/check/#");
        publish("zuul/gate/nova/master/1", "{\"left\":\"out\"}");
        publish("ansible/playbook/2", "{\"left\":\"out\"}");
        publish("zuul/check/nova/master/2", "{\"kept\":true}");
        awaitEvents(1);
        assertEquals(List.of("zuul/check/nova/master/2"), events().stream().map(ViewerIT::topicOf).toList());
        assertTrue(events().get(0).getAttribute("class").contains("src-zuul"));
        assertEquals("mosquitto_sub -h 127.0.0.1 -p " + app.port("mqtt") + " -t 'zuul/check/#' -v",
                browser.findElement(By.id("cmd-mosquitto")).getText());
        String python = browser.findElement(By.id("cmd-python")).getAttribute("textContent");
        assertTrue(python.contains("client.subscribe(\"zuul/check/#\")") && python.contains("client.connect(\"127.0.0.1\", " + app.port("mqtt") + ")"),
                python);
    }

    @Test
    void pause_stops_the_list_and_resume_continues_it() throws Exception {
        publish("ansible/before", "1");
        awaitEvents(1);
        browser.findElement(By.id("pause")).click();
        for (int i = 0; i < 3; i++) {
            publish("ansible/paused/" + i, "p");
        }
        new WebDriverWait(browser, WAIT).until(d -> d.findElement(By.id("missed")).getText().contains("3 not shown"));
        assertEquals(1, events().size(), "nothing added while paused");
        browser.findElement(By.id("pause")).click();
        publish("ansible/after", "2");
        awaitEvents(2);
        assertEquals(List.of("ansible/after", "ansible/before"), events().stream().map(ViewerIT::topicOf).toList());
        browser.findElement(By.id("clear")).click();
        assertEquals(0, events().size());
    }

    @Test
    void the_list_stays_bounded_under_200_events_a_second_for_10_seconds() throws Exception {
        long interval = 5_000_000L; // 200/s
        long next = System.nanoTime();
        for (int i = 0; i < 2_000; i++) {
            LockSupport.parkNanos(next - System.nanoTime());
            MqttMessage message = new MqttMessage(("{\"seq\":" + i + "}").getBytes());
            message.setQos(0);
            publisher.publish("ansible/flood/" + i, message);
            next += interval;
        }
        new WebDriverWait(browser, WAIT).until(d -> {
            List<WebElement> shown = events();
            return !shown.isEmpty() && topicOf(shown.get(0)).equals("ansible/flood/1999");
        });
        assertEquals(500, events().size(), "the last 500 only");
        assertEquals("ansible/flood/1500", topicOf(events().get(499)));
        assertTrue(browser.findElement(By.id("shown")).getText().startsWith("500 shown"));
    }

    @Test
    void payloads_and_topics_are_shown_as_text_and_run_nothing() throws Exception {
        String comment = "<img src=x onerror=\"document.body.dataset.pwned='img';alert(1)\"> and </script><script>document.body.dataset.pwned='script'</script>";
        publish("gerrit/openstack/nova/comment-added",
                new ObjectMapper().writeValueAsString(Map.of("type", "comment-added", "comment", comment)));
        publish("ansible/<img src=x onerror=alert(2)>", "<b>bold?</b><script>alert(3)</script>");
        awaitEvents(2);
        assertEquals("ansible/<img src=x onerror=alert(2)>", topicOf(events().get(0)));
        assertEquals("<b>bold?</b><script>alert(3)</script>", textOf(events().get(0)));
        assertTrue(textOf(events().get(1)).contains(comment.replace("\"", "\\\"")), textOf(events().get(1)));
        assertTrue(browser.findElements(By.cssSelector("#events img, #events script, #events b")).isEmpty(), "no element made from a payload");
        assertEquals(null, browser.findElement(By.tagName("body")).getAttribute("data-pwned"), "no script ran");
        assertThrows(NoAlertPresentException.class, () -> browser.switchTo().alert());

        HttpResponse<String> page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(app.httpUrl() + "/")).build(),
                HttpResponse.BodyHandlers.ofString());
        String policy = page.headers().firstValue("Content-Security-Policy").orElseThrow();
        assertTrue(policy.contains("script-src 'self'") && policy.contains("default-src 'none'"), policy);
        assertTrue(policy.contains("connect-src ws://127.0.0.1:" + app.port("ws")), policy);
        assertFalse(policy.contains("unsafe-inline") || policy.contains("unsafe-eval"), policy);
    }

    @Test
    void without_a_history_the_page_says_so_in_a_short_note_and_offers_no_older_events() throws Exception {
        new WebDriverWait(browser, WAIT).until(d -> "absent".equals(d.findElement(By.tagName("body")).getAttribute("data-history")));
        assertEquals("live only: this server keeps no history", browser.findElement(By.id("history-note")).getText());
        assertFalse(browser.findElement(By.id("older")).isDisplayed());
        assertThrows(NoAlertPresentException.class, () -> browser.switchTo().alert());
        publish("ansible/without-history", "{\"live\":true}");
        awaitEvents(1);
        assertEquals("ansible/without-history", topicOf(events().get(0)));
        assertTrue(browser.findElements(By.cssSelector("#events > li.earlier")).isEmpty());
    }

    @Test
    void the_sys_strip_shows_the_broker_figures() {
        new WebDriverWait(browser, WAIT).until(d -> d.findElement(By.id("sys-clients")).getText().matches("\\d+"));
        assertTrue(browser.findElement(By.id("sys-uptime")).getText().endsWith("seconds"));
        assertTrue(browser.findElement(By.id("sys-received")).getText().matches("\\d+"));
    }

    @Test
    void a_screenshot_with_real_sample_events_at_desktop_and_phone_width() throws Exception {
        String gerrit = Files.readAllLines(Path.of("src/test/resources/gerrit/openstack-comment-added.jsonl")).get(0);
        publish("gerrit/openstack/nova/comment-added", gerrit);
        try (InputStream in = Files.newInputStream(Path.of("src/test/resources/launchpad/bug-1905297-status-change.eml"))) {
            BugMail.Publish bug = (BugMail.Publish) BugMail.read(new MimeMessage(Session.getInstance(new Properties()), in), "launchpad");
            publish(bug.topic(), new ObjectMapper().writeValueAsString(bug.event()));
        }
        HttpResponse<String> upload = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(app.httpUrl()
                        + "/subunit?build_uuid=5f1c&build_name=openstack-tox-py311&project=openstack%2Fnova&build_change=905297&build_status=FAILURE"))
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofFile(Path.of("src/test/resources/subunit/mixed.subunit"))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, upload.statusCode(), upload.body());
        publish("zuul/check/openstack/nova/master/905297", "{\"pipeline\":\"check\",\"result\":\"FAILURE\",\"change\":905297}");
        awaitEvents(4);
        List<String> sources = events().stream().map(e -> e.getAttribute("class")).toList();
        assertTrue(sources.get(0).contains("src-zuul") && sources.get(1).contains("src-subunit")
                && sources.get(2).contains("src-launchpad") && sources.get(3).contains("src-gerrit"), sources.toString());
        Files.createDirectories(Path.of("target"));
        browser.manage().window().setSize(new Dimension(1200, 1900));
        Files.copy(browser.getScreenshotAs(OutputType.FILE).toPath(), Path.of("target/viewer.png"), StandardCopyOption.REPLACE_EXISTING);

        browser.manage().window().setSize(new Dimension(390, 844));
        new WebDriverWait(browser, WAIT).until(d -> ((Number) browser.executeScript(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")).intValue() <= 0);
        Files.copy(browser.getScreenshotAs(OutputType.FILE).toPath(), Path.of("target/viewer-phone.png"), StandardCopyOption.REPLACE_EXISTING);
    }

    private void publish(String topic, String payload) throws Exception {
        Clients.publish(publisher, topic, payload, 1, false);
    }

    private void awaitSubscribed(String filter) {
        new WebDriverWait(browser, WAIT).until(d -> filter.equals(d.findElement(By.tagName("body")).getAttribute("data-subscribed")));
    }

    private void awaitEvents(int count) {
        new WebDriverWait(browser, WAIT).until(d -> events().size() >= count);
    }

    private List<WebElement> events() {
        return browser.findElements(By.cssSelector("#events > li"));
    }

    private static String topicOf(WebElement event) {
        return event.findElement(By.className("topic")).getAttribute("textContent");
    }

    private static String textOf(WebElement event) {
        return event.findElement(By.tagName("pre")).getAttribute("textContent");
    }
}
