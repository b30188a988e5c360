package subunit;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A run's results, counted as {@code subunit-stats} counts them: every final status (success, fail, skip, xfail,
 * uxsuccess) of a test id (and routing code) is one test; a test still in progress at the end of the stream counts
 * as failed; "exists" (enumeration) packets are not tests. Where subunit-stats' "passed" includes xfail and uxsuccess,
 * {@link #passed()} is plain successes, and the two others are counted apart.
 */
public final class SubunitSummary implements SubunitParser.Listener {

    /** More tests than this in progress at once is taken for a broken stream (it would only grow the open set). */
    public static final int MAX_IN_PROGRESS = 100_000;

    private final int maxFailures;
    private final Set<String> inProgress = new HashSet<>();
    private final List<String> failures = new ArrayList<>();
    private long success;
    private long fail;
    private long skip;
    private long xfail;
    private long uxsuccess;
    private long unfinished;
    private long first = Long.MAX_VALUE;
    private long last = Long.MIN_VALUE;
    private long bytes;
    private long packets;
    private long fingerprint;

    public SubunitSummary(int maxFailures) {
        this.maxFailures = maxFailures;
    }

    /** Parses a whole stream (already decompressed) into a summary. */
    public static SubunitSummary of(InputStream stream, int maxFailures) throws IOException {
        SubunitSummary summary = new SubunitSummary(maxFailures);
        SubunitParser parser = new SubunitParser(stream);
        parser.parse(summary);
        summary.finish(parser);
        return summary;
    }

    /**
     * {@code java -cp firehose.jar subunit.SubunitSummary [FILE...]}: each file's (or stdin's) summary as the event
     * would carry it, on stdout; bytes, results and speed on stderr. Exit status 1 for a broken stream.
     */
    public static void main(String[] args) throws IOException {
        List<String> inputs = args.length == 0 ? List.of("-") : List.of(args);
        int status = 0;
        for (String input : inputs) {
            long started = System.nanoTime();
            try (InputStream raw = input.equals("-") ? System.in : java.nio.file.Files.newInputStream(java.nio.file.Path.of(input));
                 InputStream stream = SubunitInput.open(raw)) {
                SubunitSummary summary = of(stream, 100);
                double seconds = (System.nanoTime() - started) / 1e9;
                System.out.println(SubunitEvent.build(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(), summary));
                System.err.printf("%s: %d bytes, %d packets, %d results in %.3f s: %.1f MB/s, %.0f results/s%n", input, summary.bytes(),
                        summary.packets(), summary.total(), seconds, summary.bytes() / 1e6 / seconds, summary.total() / seconds);
            } catch (SubunitFormatException e) {
                System.err.println(input + ": " + e.getMessage());
                status = 1;
            }
        }
        System.exit(status);
    }

    @Override
    public void packet(SubunitParser.Packet packet) throws SubunitFormatException {
        String id = packet.testId();
        if (id == null) {
            return; // stream-level attachments (stdout) and the like
        }
        int status = packet.status();
        if (status == 1) {
            return; // "exists": the test was listed, not run
        }
        if (packet.hasTimestamp()) {
            long at = packet.seconds() * 1_000_000_000L + packet.nanos();
            first = Math.min(first, at);
            last = Math.max(last, at);
        }
        String key = packet.routeCode() == null ? id : id + '\0' + packet.routeCode();
        switch (status) {
            case 0, 2 -> {
                if (inProgress.add(key) && inProgress.size() > MAX_IN_PROGRESS) {
                    throw new SubunitFormatException("more than " + MAX_IN_PROGRESS + " tests in progress at once (packet at offset " + packet.offset() + ")");
                }
            }
            case 3 -> {
                inProgress.remove(key);
                success++;
            }
            case 4 -> {
                inProgress.remove(key);
                uxsuccess++;
                failure(id);
            }
            case 5 -> {
                inProgress.remove(key);
                skip++;
            }
            case 6 -> {
                inProgress.remove(key);
                fail++;
                failure(id);
            }
            case 7 -> {
                inProgress.remove(key);
                xfail++;
            }
            default -> throw new IllegalStateException("status " + status);
        }
    }

    private void failure(String id) {
        if (failures.size() < maxFailures) {
            failures.add(id);
        }
    }

    /** Closes the run: tests never finished count as failed; an input without a single packet is refused. */
    public void finish(SubunitParser parser) throws SubunitFormatException {
        bytes = parser.offset();
        packets = parser.packets();
        fingerprint = parser.fingerprint();
        if (packets == 0) {
            throw new SubunitFormatException("empty input: no subunit packets");
        }
        unfinished = inProgress.size();
        for (String key : inProgress.stream().sorted().toList()) {
            failure(key.contains("\0") ? key.substring(0, key.indexOf('\0')) : key);
        }
        inProgress.clear();
    }

    public long total() {
        return success + fail + skip + xfail + uxsuccess + unfinished;
    }

    public long passed() {
        return success;
    }

    /** Failed tests, including those the stream left unfinished. */
    public long failed() {
        return fail + unfinished;
    }

    public long skipped() {
        return skip;
    }

    public long xfail() {
        return xfail;
    }

    public long uxsuccess() {
        return uxsuccess;
    }

    /** "success" when no test failed or unexpectedly succeeded, else "failed" (the gearman worker's field). */
    public String status() {
        return failed() == 0 && uxsuccess == 0 ? "success" : "failed";
    }

    /** Ids of the tests that made the run fail (fail, uxsuccess, unfinished), in stream order, at most the cap. */
    public List<String> failures() {
        return Collections.unmodifiableList(failures);
    }

    /** Earliest test timestamp, or null when the stream has none. */
    public Instant runAt() {
        return first == Long.MAX_VALUE ? null : Instant.ofEpochSecond(0, first);
    }

    /** From the earliest to the latest test timestamp; 0 without timestamps. */
    public double durationSeconds() {
        return first == Long.MAX_VALUE ? 0 : Math.round((last - first) / 1e6) / 1e3;
    }

    public long bytes() {
        return bytes;
    }

    public long packets() {
        return packets;
    }

    public long fingerprint() {
        return fingerprint;
    }
}
