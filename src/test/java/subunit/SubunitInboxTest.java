package subunit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inbox's folders as someone watching them sees them. */
class SubunitInboxTest {

    @TempDir
    Path dir;

    @Test
    void should_have_the_whole_reason_in_the_error_folder_before_the_rejected_file() throws Exception {
        SubunitInbox inbox = new SubunitInbox(dir.resolve("done"), dir.resolve("error"));
        Path file = Files.write(dir.resolve("run.subunit"), new byte[] {1, 2, 3});
        Files.writeString(dir.resolve("run.subunit.json"), "{}");
        try (WatchService watch = FileSystems.getDefault().newWatchService()) {
            dir.resolve("error").register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
            inbox.reject(rejected(file, new SubunitFormatException("truncated stream")));
            // no write to the reason once it is there: it arrives whole
            assertEquals(List.of("ENTRY_CREATE run.subunit.reason", "ENTRY_CREATE run.subunit.json", "ENTRY_CREATE run.subunit"),
                    seen(watch, 3));
        }
        assertEquals("truncated stream\n", Files.readString(dir.resolve("error/run.subunit.reason"), StandardCharsets.UTF_8));
        try (var left = Files.list(dir.resolve("error"))) {
            assertFalse(left.anyMatch(p -> p.getFileName().toString().startsWith(".")), "no partial file is left");
        }
    }

    @Test
    void should_number_a_name_already_taken_rather_than_overwrite_it() throws Exception {
        SubunitInbox inbox = new SubunitInbox(dir.resolve("done"), dir.resolve("error"));
        for (String reason : List.of("first", "second")) {
            Path file = Files.write(dir.resolve("run.subunit"), reason.getBytes(StandardCharsets.UTF_8));
            inbox.reject(rejected(file, new SubunitFormatException(reason)));
        }
        assertEquals("first\n", Files.readString(dir.resolve("error/run.subunit.reason")));
        assertEquals("second\n", Files.readString(dir.resolve("error/run.subunit.1.reason")));
        assertEquals("second", Files.readString(dir.resolve("error/run.subunit.1")));
        assertTrue(Files.exists(dir.resolve("error/run.subunit")));
    }

    private static Exchange rejected(Path file, Exception cause) {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.getMessage().setHeader(Exchange.FILE_PATH, file.toString());
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, cause);
        return exchange;
    }

    /** What happened in the watched folder, in order, leaving out hidden (partial) files. */
    private static List<String> seen(WatchService watch, int expected) throws InterruptedException {
        List<String> names = new ArrayList<>();
        while (names.size() < expected) {
            WatchKey key = watch.poll(10, TimeUnit.SECONDS);
            if (key == null) {
                break;
            }
            key.pollEvents().stream()
                    .filter(event -> !event.context().toString().startsWith("."))
                    .map(event -> event.kind().name() + " " + event.context())
                    .forEach(names::add);
            key.reset();
        }
        return names;
    }
}
