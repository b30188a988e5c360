package launchpad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import jakarta.mail.Session;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.Test;

class BugMailTest {

    private static MimeMessage mail(String text) throws Exception {
        return new MimeMessage(Session.getInstance(new Properties()), new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static MimeMessage sample(String name) throws Exception {
        try (InputStream in = Files.newInputStream(Path.of("src/test/resources/launchpad", name))) {
            return new MimeMessage(Session.getInstance(new Properties()), in);
        }
    }

    private static final String HEADERS = "X-Generated-By: Launchpad (canonical.com);\r\n Revision=\"x\"\r\n"
            + "X-Launchpad-Notification-Type: bug\r\n";

    @Test
    void folded_bug_task_headers_are_unfolded_into_every_task() throws Exception {
        BugMail.Publish publish = assertInstanceOf(BugMail.Publish.class, BugMail.read(sample("bug-1893667-two-tasks.eml"), "launchpad"));
        @SuppressWarnings("unchecked")
        List<Map<String, String>> tasks = (List<Map<String, String>>) publish.event().get("tasks");
        assertEquals(Map.of("product", "qemu", "status", "Fix Committed", "importance", "Undecided", "assignee", "None"), tasks.get(0));
        assertEquals(Map.of("distribution", "fedora", "sourcepackage", "qemu", "component", "None", "status", "Unknown",
                "importance", "Unknown", "assignee", "None"), tasks.get(1));
    }

    @Test
    void a_distribution_task_gives_the_project_when_there_is_no_product() throws Exception {
        BugMail.Outcome outcome = BugMail.read(mail(HEADERS + "X-Launchpad-Bug: distribution=ubuntu; sourcepackage=nova; status=New\r\n"
                + "Subject: [Bug 42] Re: crash\r\n\r\nbody\r\n"), "launchpad");
        BugMail.Publish publish = assertInstanceOf(BugMail.Publish.class, outcome);
        assertEquals("launchpad/ubuntu/bug/42", publish.topic());
        assertEquals("ubuntu", publish.event().get("project"));
        assertEquals("ubuntu", publish.event().get("distribution"), "lpmqtt kept the key as it came");
    }

    @Test
    void no_bug_task_at_all_cuts_the_topic_at_the_base() throws Exception {
        BugMail.Publish publish = assertInstanceOf(BugMail.Publish.class,
                BugMail.read(mail(HEADERS + "Subject: [Bug 7] x\r\n\r\nbody\r\n"), "launchpad"));
        assertEquals("launchpad", publish.topic());
    }

    @Test
    void private_foreign_and_unreadable_mail_is_set_aside_with_a_reason_that_shows_no_content() throws Exception {
        BugMail.SetAside privateBug = assertInstanceOf(BugMail.SetAside.class, BugMail.read(mail(HEADERS
                + "X-Launchpad-Bug-Private: yes\r\nSubject: [Bug 9] embargoed-secret\r\n\r\nsecret body\r\n"), "launchpad"));
        assertEquals("private", privateBug.kind());
        assertTrue(!privateBug.reason().contains("embargoed") && !privateBug.reason().contains("secret body"));

        BugMail.SetAside foreign = assertInstanceOf(BugMail.SetAside.class,
                BugMail.read(mail("Subject: hello\r\n\r\nnot from launchpad\r\n"), "launchpad"));
        assertEquals("not-launchpad", foreign.kind());

        MimeMessage broken = mail(HEADERS + "X-Launchpad-Bug: product=nova\r\nSubject: [Bug 3] x\r\n"
                + "Content-Type: multipart/mixed\r\n\r\nno boundary anywhere\r\n");
        BugMail.Outcome outcome = BugMail.read(broken, "launchpad");
        assertTrue(outcome instanceof BugMail.SetAside aside && aside.kind().equals("malformed")
                || outcome instanceof BugMail.Publish, "never an exception: " + outcome);
    }

    @Test
    void an_unknown_charset_still_gives_a_body() throws Exception {
        BugMail.Publish publish = assertInstanceOf(BugMail.Publish.class, BugMail.read(mail(HEADERS
                + "X-Launchpad-Bug: product=nova\r\nSubject: [Bug 5] x\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n"
                + "\r\nplain ascii text\r\n"), "launchpad"));
        assertEquals("plain ascii text\r\n", publish.event().get("body"));
    }
}
