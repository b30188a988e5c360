package viewer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import firehose.Browser;
import firehose.Clients;
import firehose.FirehoseApp;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The viewer's properties, and its reconnect after the broker went away. */
class ViewerSettingsIT {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path data;

    @Test
    void the_page_connects_to_the_websocket_url_of_the_property_and_the_policy_allows_only_that() throws Exception {
        FirehoseApp.Builder builder = FirehoseApp.builder(data);
        try (FirehoseApp app = builder.start()) {
            // the page is loaded from 127.0.0.1, the WebSocket URL names localhost: the page must use the property's
            String url = "ws://localhost:" + app.port("ws") + "/mqtt";
            app.close();
            try (FirehoseApp configured = builder.set("firehose.viewer.ws-url", url).start()) {
                ChromeDriver browser = Browser.open(1000, 800);
                try {
                    browser.get(configured.httpUrl() + "/");
                    new WebDriverWait(browser, WAIT).until(d -> "connected".equals(d.findElement(By.id("state")).getAttribute("data-state")));
                    assertEquals(url, browser.findElement(By.id("endpoint")).getText());
                } finally {
                    browser.quit();
                }
                String policy = get(configured.httpUrl() + "/").headers().firstValue("Content-Security-Policy").orElseThrow();
                assertTrue(policy.contains("connect-src ws://localhost:" + configured.port("ws") + " 'self';"), policy); // 'self': /history
            }
        }
    }

    @Test
    void a_broker_restart_shows_as_reconnecting_then_connected_and_events_flow_again() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).start()) {
            ChromeDriver browser = Browser.open(1000, 800);
            try {
                browser.get(app.httpUrl() + "/");
                WebDriverWait wait = new WebDriverWait(browser, WAIT);
                wait.until(d -> "#".equals(d.findElement(By.tagName("body")).getAttribute("data-subscribed")));
                app.close();
                wait.until(d -> !"connected".equals(d.findElement(By.id("state")).getAttribute("data-state")));
                app.start();
                wait.until(d -> "#".equals(d.findElement(By.tagName("body")).getAttribute("data-subscribed")));
                assertEquals("connected", browser.findElement(By.id("state")).getAttribute("data-state"));
                MqttClient publisher = Clients.publisher(app.tcpUrl());
                Clients.publish(publisher, "ansible/after-restart", "{\"back\":true}", 1, false);
                Clients.close(publisher);
                wait.until(d -> !d.findElements(By.cssSelector("#events > li")).isEmpty());
                assertEquals("ansible/after-restart", browser.findElement(By.cssSelector("#events .topic")).getText());
            } finally {
                browser.quit();
            }
        }
    }

    @Test
    void the_viewer_can_be_turned_off_and_serves_nothing_but_its_own_files() throws Exception {
        try (FirehoseApp app = FirehoseApp.builder(data).start()) {
            assertEquals(200, get(app.httpUrl() + "/").statusCode());
            assertEquals(200, get(app.httpUrl() + "/viewer/paho-mqtt.js").statusCode());
            assertEquals(404, get(app.httpUrl() + "/viewer/../application.properties").statusCode());
            assertEquals(404, get(app.httpUrl() + "/viewer/index.html").statusCode());
            assertEquals(404, get(app.httpUrl() + "/viewer/META-INF/MANIFEST.MF").statusCode());
        }
        try (FirehoseApp off = FirehoseApp.builder(data).set("firehose.viewer.enabled", "false").start()) {
            assertEquals(404, get(off.httpUrl() + "/").statusCode());
            assertEquals(404, get(off.httpUrl() + "/viewer/viewer.js").statusCode());
        }
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
