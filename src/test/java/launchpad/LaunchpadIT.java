package launchpad;

import broker.config.Secret;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.icegreen.greenmail.store.MailFolder;
import com.icegreen.greenmail.user.GreenMailUser;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import firehose.Await;
import firehose.FirehoseApp;
import firehose.LogCapture;
import firehose.Subscriber;
import firehose.TestTls;
import jakarta.mail.Flags;
import jakarta.mail.Session;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Launchpad bug mail from a GreenMail IMAP(S) server to MQTT subscribers. */
class LaunchpadIT {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Path SAMPLES = Path.of("src/test/resources/launchpad");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PASSWORD = "imap-secret-7781";

    @TempDir
    Path dir;
    private int imapPort;
    private int imapsPort;
    private GreenMail mail;
    private GreenMailUser user;

    @BeforeAll
    static void serveTheTestCertificate() {
        // GreenMail's own certificate names no host; give its IMAPS the test keystore (CN and SAN localhost)
        System.setProperty("greenmail.tls.keystore.file", TestTls.keystore().toString());
        System.setProperty("greenmail.tls.keystore.password", TestTls.PASSWORD);
        System.setProperty("greenmail.tls.key.password", TestTls.PASSWORD);
    }

    @BeforeEach
    void startMailServer() {
        imapPort = freePort();
        imapsPort = freePort();
        startGreenMail();
    }

    private void startGreenMail() {
        mail = new GreenMail(new ServerSetup[] {
                new ServerSetup(imapPort, "127.0.0.1", ServerSetup.PROTOCOL_IMAP),
                new ServerSetup(imapsPort, "127.0.0.1", ServerSetup.PROTOCOL_IMAPS)});
        mail.start();
        user = mail.setUser("lp@example.org", "lpmqtt", PASSWORD);
    }

    @AfterEach
    void stopMailServer() {
        mail.stop();
    }

    private FirehoseApp.Builder app(boolean ssl) {
        return FirehoseApp.builder(dir.resolve("data")).set("firehose.broker.sys-interval", "0")
                .set(lp("template-id"), "launchpad")
                .set(lp("host"), ssl ? "localhost" : "127.0.0.1") // GreenMail's certificate names localhost
                .set(lp("port"), String.valueOf(ssl ? imapsPort : imapPort))
                .set(lp("ssl"), String.valueOf(ssl))
                .set(lp("ssl-trust"), ssl ? "localhost" : "none") // a self-signed certificate for this host
                .set(lp("username"), "lpmqtt")
                .set(lp("password"), PASSWORD)
                .set(lp("poll-interval"), "1");
    }

    private static String lp(String key) {
        return "camel.route-template[lp]." + key;
    }

    private void deliver(String sample) throws Exception {
        try (InputStream in = Files.newInputStream(SAMPLES.resolve(sample))) {
            user.deliver(new MimeMessage(Session.getInstance(new Properties()), in));
        }
    }

    private MailFolder folder(String name) {
        return mail.getManagers().getImapHostManager().getFolder(user, name);
    }

    private static JsonNode json(Subscriber.Received received) throws Exception {
        return JSON.readTree(received.payload());
    }

    @Test
    void sample_mails_arrive_over_imaps_with_every_field() throws Exception {
        try (FirehoseApp app = app(true).start(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "launchpad/#")) {
            deliver("bug-1893667-two-tasks.eml");
            deliver("bug-1905297-status-change.eml");
            deliver("bug-1909247-new-security.eml");
            Map<String, Subscriber.Received> byTopic = new HashMap<>();
            for (int i = 0; i < 3; i++) {
                Subscriber.Received r = subscriber.next(WAIT);
                byTopic.put(r.topic(), r);
            }

            JsonNode twoTasks = json(byTopic.get("launchpad/qemu/bug/1893667"));
            assertEquals("bug", twoTasks.get("event-type").asText());
            assertEquals("1893667", twoTasks.get("bug-number").asText());
            assertEquals("qemu", twoTasks.get("project").asText());
            assertEquals("Fix Committed", twoTasks.get("status").asText());
            assertEquals("Undecided", twoTasks.get("importance").asText());
            assertEquals("None", twoTasks.get("assignee").asText());
            assertEquals(List.of("jnsnow", "ngompa13"), JSON.convertValue(twoTasks.get("commenters"), List.class));
            assertEquals(List.of("linux-user"), JSON.convertValue(twoTasks.get("tags"), List.class));
            assertEquals("Neal Gompa (ngompa13)", twoTasks.get("bug-reporter").asText());
            assertEquals("John Snow (jnsnow)", twoTasks.get("bug-modifier").asText());
            assertEquals(2, twoTasks.get("tasks").size(), "both bug tasks");
            assertEquals("qemu", twoTasks.get("tasks").get(0).get("product").asText());
            assertEquals("fedora", twoTasks.get("tasks").get(1).get("distribution").asText());
            assertEquals("qemu", twoTasks.get("tasks").get(1).get("sourcepackage").asText());
            assertEquals("Unknown", twoTasks.get("tasks").get(1).get("status").asText());
            String body = twoTasks.get("body").asText();
            assertTrue(body.contains("commits/master?utf8=%E2%9C%93&search=Filip+Bozuta"), "quoted-printable decoded, soft breaks joined: " + body);
            assertTrue(body.contains("Status: In Progress => Fix Committed"), body);
            assertFalse(body.contains("=3D") || body.contains("=\n"), "no quoted-printable left");
            assertEquals("[Bug 1893667] Re: Btrfs commands don't work when using user-space emulation of other architectures",
                    twoTasks.get("subject").asText(), "unfolded");
            assertEquals("2020-11-04T22:34:35Z", twoTasks.get("date").asText());
            assertEquals("<160452927609.13286.10839590188936997723.malone@gac.canonical.com>", twoTasks.get("message-id").asText());
            assertEquals("Subscriber (QEMU) @qemu-devel-ml", twoTasks.get("rationale").asText());
            assertEquals("Public", twoTasks.get("information-type").asText());
            assertEquals("no", twoTasks.get("security-vulnerability").asText());

            JsonNode status = json(byTopic.get("launchpad/qemu/bug/1905297"));
            assertEquals("Incomplete", status.get("status").asText());
            assertEquals(List.of("michaelpeter", "philmd", "th-huth"), JSON.convertValue(status.get("commenters"), List.class));
            assertEquals(0, status.get("tags").size());
            assertEquals("Thomas Huth (th-huth)", status.get("bug-modifier").asText());

            JsonNode security = json(byTopic.get("launchpad/qemu/bug/1909247"));
            assertEquals("New", security.get("status").asText());
            assertEquals(List.of("cve", "qemu", "security"), JSON.convertValue(security.get("tags"), List.class));
            assertEquals("Public Security", security.get("information-type").asText());
            assertEquals("yes", security.get("security-vulnerability").asText());
            assertEquals("[Bug 1909247] [NEW] QEMU: use after free vulnerability in esp_do_dma() in hw/scsi/esp.c",
                    security.get("subject").asText());

            Await.until(WAIT, () -> folder("INBOX").getMessages().stream().allMatch(m -> m.isSet(Flags.Flag.SEEN)),
                    () -> "published mails are flagged seen");
            assertEquals(3, folder("INBOX").getMessageCount(), "kept in the inbox (processed=seen)");
        }
    }

    @Test
    void private_and_foreign_mail_is_set_aside_counted_and_never_published() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = app(false).start(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "#")) {
            String privateMail = Files.readString(SAMPLES.resolve("bug-1905297-status-change.eml"))
                    .replace("X-Launchpad-Bug-Private: no", "X-Launchpad-Bug-Private: yes")
                    .replace("Zynq7000 UART", "Secret-Embargoed-Thing");
            user.deliver(mime(privateMail));
            user.deliver(mime("From: someone@example.org\r\nSubject: [Bug 1] spam\r\nX-Launchpad-Notification-Type: bug\r\n\r\nbuy now\r\n"));
            deliver("bug-1909247-new-security.eml"); // published after the others: proves they were not

            assertEquals("launchpad/qemu/bug/1909247", subscriber.next(WAIT).topic());
            Await.until(WAIT, () -> folder("firehose-set-aside") != null && folder("firehose-set-aside").getMessageCount() == 2,
                    () -> "two mails set aside");
            assertNull(subscriber.poll(Duration.ofMillis(500)));
            String metrics = app.http("/observe/metrics").body();
            assertTrue(metrics.matches("(?s).*firehose_launchpad_mails_total\\{outcome=\"private\",[^}]*} 1\\.0.*"), metrics);
            assertTrue(metrics.matches("(?s).*firehose_launchpad_mails_total\\{outcome=\"not-launchpad\",[^}]*} 1\\.0.*"), metrics);
            assertTrue(metrics.matches("(?s).*firehose_launchpad_mails_total\\{outcome=\"published\",[^}]*} 1\\.0.*"), metrics);
            assertTrue(metrics.contains("firehose_events_checked_total{source=\"launchpad\"} 1.0"), "checked against its schema: " + metrics);
            assertTrue(log.lines().stream().anyMatch(l -> l.text().contains("about a private bug")));
            assertFalse(log.lines().stream().anyMatch(l -> l.text().contains("Secret-Embargoed-Thing")), "private content never logged");
            assertFalse(log.lines().stream().anyMatch(l -> l.text().contains(PASSWORD)), "IMAP password never logged");
        }
    }

    @Test
    void mails_built_by_hand_are_decoded_or_published_with_what_can_be_read() throws Exception {
        try (FirehoseApp app = app(false).start(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "launchpad/#")) {
            // base64, ISO-8859-1
            MimeMessage latin = launchpadMail("[Bug 111] Umlaute", "product=nova; status=New;");
            latin.setText("Grüße aus Köln, naïve café", "ISO-8859-1");
            latin.setHeader("Content-Transfer-Encoding", "base64");
            latin.saveChanges();
            latin.setHeader("Content-Transfer-Encoding", "base64");
            user.deliver(latin);
            JsonNode decoded = json(expect(subscriber, "launchpad/nova/bug/111"));
            assertEquals("Grüße aus Köln, naïve café", decoded.get("body").asText());

            // multipart: the text/plain part is the body
            MimeMessage multipart = launchpadMail("[Bug 222] Multipart", "product=neutron; status=Triaged;");
            MimeMultipart parts = new MimeMultipart("alternative");
            MimeBodyPart plain = new MimeBodyPart();
            plain.setText("plain words", "UTF-8");
            MimeBodyPart html = new MimeBodyPart();
            html.setContent("<p>html words</p>", "text/html; charset=UTF-8");
            parts.addBodyPart(plain);
            parts.addBodyPart(html);
            multipart.setContent(parts);
            multipart.saveChanges();
            user.deliver(multipart);
            assertEquals("plain words", json(expect(subscriber, "launchpad/neutron/bug/222")).get("body").asText());

            // a notification that is not about a bug: lpmqtt's shape, under <base>/<project>
            MimeMessage question = launchpadMail("[Question #5] How?", "product=glance;");
            question.setHeader("X-Launchpad-Notification-Type", "question");
            question.setText("How do I?", "UTF-8");
            question.saveChanges();
            user.deliver(question);
            JsonNode other = json(expect(subscriber, "launchpad/glance"));
            assertEquals("question", other.get("X-Launchpad-Notification-Type").asText());
            assertEquals("How do I?", other.get("body").asText());

            // no subject: published without a bug number, its topic cut there
            MimeMessage noSubject = launchpadMail(null, "product=swift; status=New;");
            noSubject.setText("no subject here", "UTF-8");
            noSubject.saveChanges();
            user.deliver(noSubject);
            JsonNode cut = json(expect(subscriber, "launchpad/swift/bug"));
            assertNull(cut.get("bug-number"));
            assertEquals("New", cut.get("status").asText());
        }
    }

    @Test
    void a_mail_whose_event_the_broker_did_not_take_stays_unhandled_and_is_published_once_later() throws Exception {
        try (FirehoseApp app = app(false).set("firehose.publish.retries", "1").set("firehose.publish.retry-delay", "100").start()) {
            NotifyBuilder failed = new NotifyBuilder(app.context()).fromRoute("lp").whenFailed(1).create();
            app.broker().stop();
            deliver("bug-1905297-status-change.eml");
            assertTrue(failed.matches(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS), "the publish failed");
            assertFalse(folder("INBOX").getMessages().get(0).isSet(Flags.Flag.SEEN), "not marked handled");

            app.broker().start();
            try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "launchpad/#")) {
                assertEquals("launchpad/qemu/bug/1905297", subscriber.next(Duration.ofSeconds(40)).topic());
                Await.until(WAIT, () -> folder("INBOX").getMessages().get(0).isSet(Flags.Flag.SEEN), () -> "marked after publishing");
                // the mailbox is polled every second: an event published twice would show within three
                assertNull(subscriber.poll(Duration.ofSeconds(3)), "published once");
            }
        }
    }

    @Test
    void imap_server_restart_is_survived() throws Exception {
        try (LogCapture log = LogCapture.open();
             FirehoseApp app = app(false).start(); Subscriber subscriber = Subscriber.on(app.tcpUrl(), "launchpad/#")) {
            deliver("bug-1905297-status-change.eml");
            assertEquals("launchpad/qemu/bug/1905297", subscriber.next(WAIT).topic());
            int before = log.problems().size();
            mail.stop();
            Await.until(WAIT, () -> log.problems().size() > before, () -> "no failed poll noticed");
            // Camel's consumer health check: the mailbox route is DOWN while its polls fail
            Await.until(WAIT, () -> health(app).contains("\"consumer:lp\",\"status\":\"DOWN\""), () -> health(app));
            startGreenMail();
            deliver("bug-1909247-new-security.eml");
            assertEquals("launchpad/qemu/bug/1909247", subscriber.next(Duration.ofSeconds(40)).topic());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"move", "delete"})
    void processed_mail_can_be_moved_or_deleted(String processed) throws Exception {
        try (FirehoseApp app = app(false).set(lp("processed"), processed).start();
             Subscriber subscriber = Subscriber.on(app.tcpUrl(), "launchpad/#")) {
            deliver("bug-1905297-status-change.eml");
            subscriber.next(WAIT);
            Await.until(WAIT, () -> folder("INBOX").getMessages().stream().allMatch(m -> m.isSet(Flags.Flag.DELETED)),
                    () -> "gone from the inbox");
            MailFolder done = folder("firehose-processed");
            assertEquals(processed.equals("move") ? 1 : 0, done == null ? 0 : done.getMessageCount());
        }
    }

    private static Subscriber.Received expect(Subscriber subscriber, String topic) throws InterruptedException {
        Subscriber.Received received = subscriber.next(WAIT);
        assertEquals(topic, received.topic());
        return received;
    }

    private static MimeMessage mime(String text) throws Exception {
        return new MimeMessage(Session.getInstance(new Properties()),
                new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static MimeMessage launchpadMail(String subject, String bugHeader) throws Exception {
        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()));
        m.setFrom("bugs@launchpad.example");
        if (subject != null) {
            m.setSubject(subject, "UTF-8");
        }
        m.setHeader("X-Generated-By", "Launchpad (canonical.com)");
        m.setHeader("X-Launchpad-Notification-Type", "bug");
        m.setHeader("X-Launchpad-Bug", bugHeader);
        m.setHeader("X-Launchpad-Bug-Private", "no");
        m.setHeader("Message-Id", "<" + System.nanoTime() + "@launchpad.example>");
        return m;
    }

    private static String health(FirehoseApp app) {
        try {
            return app.http("/observe/health").body();
        } catch (Exception e) {
            return e.toString();
        }
    }

    private static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
