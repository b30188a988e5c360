package launchpad;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.mail.Message;
import jakarta.mail.internet.MimeMessage;
import org.apache.camel.Exchange;
import org.apache.camel.component.mail.MailConstants;
import org.apache.camel.component.mail.MailMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import publish.Topic;

/**
 * The steps of one mailbox's route: turn a mail into an event, or mark it to be set aside; then say what happens
 * to the mail once the exchange completes (camel-mail acts on the {@code moveTo}/{@code delete} headers only then,
 * so a mail whose event was not published stays unseen and is read again).
 */
public final class LaunchpadMailbox {

    /** Exchange property: the mail is set aside, not published. */
    public static final String SET_ASIDE = "LaunchpadSetAside";

    private static final Logger LOG = LoggerFactory.getLogger(LaunchpadMailbox.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final String baseTopic;
    private final String processed;
    private final String processedFolder;
    private final String setAsideFolder;
    private final MeterRegistry metrics;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();

    public LaunchpadMailbox(String name, String baseTopic, String processed, String processedFolder, String setAsideFolder,
                            MeterRegistry metrics) {
        if (!processed.equals("seen") && !processed.equals("delete") && !processed.equals("move")) {
            throw new IllegalArgumentException("processed must be seen, delete or move, not '" + processed + "'");
        }
        this.name = name;
        this.baseTopic = baseTopic;
        this.processed = processed;
        this.processedFolder = processedFolder;
        this.setAsideFolder = setAsideFolder;
        this.metrics = metrics != null ? metrics : new SimpleMeterRegistry();
        for (String outcome : new String[] {"published", "not-launchpad", "private", "malformed"}) {
            counter(outcome);
        }
    }

    /**
     * The camel-mail consumer for a mailbox. {@code peek}: reading a mail does not mark it seen; camel-mail marks,
     * moves or deletes it only after the route succeeded, as the headers set by {@link #published} and
     * {@link #setAside} say. {@code trust}: hosts whose certificate is accepted without a CA ("none": the CA checks).
     */
    public static String endpointUri(String host, String port, boolean ssl, String trust, String username, String password,
                                     String folder, String pollSeconds) {
        String protocol = ssl ? "imaps" : "imap";
        StringBuilder uri = new StringBuilder(protocol).append("://").append(host).append(':').append(port)
                .append("?username=RAW(").append(username).append(")&password=RAW(").append(password).append(')')
                .append("&folderName=RAW(").append(folder).append(')')
                .append("&unseen=true&peek=true&mapMailMessage=false&skipFailedMessage=false&maxMessagesPerPoll=100")
                .append("&delay=").append(Long.parseLong(pollSeconds.strip()) * 1000);
        if (trust != null && !trust.isBlank() && !trust.equals("none")) {
            uri.append("&mail.").append(protocol).append(".ssl.trust=RAW(").append(trust.strip()).append(')');
        }
        return uri.toString();
    }

    /** Reads the mail; sets the body to the event's JSON and the topic header, or marks the exchange set aside. */
    public void read(Exchange exchange) throws JsonProcessingException {
        Message mail = exchange.getMessage(MailMessage.class).getOriginalMessage();
        BugMail.Outcome outcome = mail instanceof MimeMessage mime ? BugMail.read(mime, baseTopic)
                : new BugMail.SetAside("malformed", "not a MIME message");
        if (outcome instanceof BugMail.Publish publish) {
            exchange.getMessage().setHeader(Topic.HEADER, publish.topic());
            exchange.getMessage().setBody(JSON.writeValueAsBytes(publish.event()));
        } else if (outcome instanceof BugMail.SetAside aside) {
            exchange.setProperty(SET_ASIDE, aside);
            // the reason only: never the subject, sender or body of a mail that may be private
            LOG.warn("Launchpad {}: mail {} set aside to {}: {}", name, messageId(mail), setAsideFolder, aside.reason());
        }
    }

    /** After a publish: what happens to the mail, as configured. */
    public void published(Exchange exchange) {
        counter("published").increment();
        exchange.getMessage().setHeader(MailConstants.MAIL_DELETE, processed.equals("delete"));
        if (processed.equals("move")) {
            exchange.getMessage().setHeader(MailConstants.MAIL_MOVE_TO, processedFolder);
        }
    }

    /** For a mail that is not published: moved to the set-aside folder, never deleted. */
    public void setAside(Exchange exchange) {
        BugMail.SetAside aside = exchange.getProperty(SET_ASIDE, BugMail.SetAside.class);
        counter(aside.kind()).increment();
        exchange.getMessage().setHeader(MailConstants.MAIL_DELETE, false);
        exchange.getMessage().setHeader(MailConstants.MAIL_MOVE_TO, setAsideFolder);
    }

    private Counter counter(String outcome) {
        return counters.computeIfAbsent(outcome, o -> Counter.builder("firehose.launchpad.mails")
                .description("mails read, by outcome").tag("route", name).tag("outcome", o).register(metrics));
    }

    private static String messageId(Message mail) {
        try {
            String[] ids = mail.getHeader("Message-Id");
            return ids == null ? "#" + mail.getMessageNumber() : ids[0];
        } catch (Exception e) {
            return "#" + mail.getMessageNumber();
        }
    }
}
