package subunit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.StandardCopyOption;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;

/**
 * The inbox directory: {@code *.subunit} and {@code *.subunit.gz} files, each with an optional {@code <file>.json}
 * sidecar of metadata. A file is moved to the done folder once its event is published, to the error folder with a
 * {@code <file>.reason} when it cannot be read; while the broker cannot take it, it stays and is tried again.
 */
public final class SubunitInbox {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path done;
    private final Path error;

    public SubunitInbox(Path done, Path error) throws IOException {
        this.done = Files.createDirectories(done);
        this.error = Files.createDirectories(error);
    }

    /** Sets the metadata from the sidecar and the body to the file's stream. */
    public void open(Exchange exchange) throws IOException {
        Path file = file(exchange);
        exchange.setProperty(SubunitResults.INPUT, file.getFileName().toString());
        Path sidecar = sidecar(file);
        if (Files.exists(sidecar)) {
            try {
                exchange.setProperty(SubunitResults.METADATA, SubunitEvent.metadata(JSON.readTree(sidecar.toFile())));
            } catch (JsonProcessingException | IllegalArgumentException e) {
                throw new SubunitFormatException("sidecar " + sidecar.getFileName() + ": " + firstLine(e.getMessage()), e);
            }
        } else {
            exchange.setProperty(SubunitResults.METADATA, JSON.createObjectNode()); // no sidecar: no metadata
        }
        InputStream in = Files.newInputStream(file);
        exchange.getMessage().setBody(in);
    }

    public void done(Exchange exchange) throws IOException {
        Path file = file(exchange);
        moveTo(freeName(done, file), file);
    }

    /**
     * Moves the file (and its sidecar) to the error folder with the reason next to it. The reason is there, whole,
     * before the file: whoever watches the folder never finds a rejected file without it, nor a half-written reason.
     */
    public void reject(Exchange exchange) throws IOException {
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        Path file = file(exchange);
        Path target = freeName(error, file);
        Path written = error.resolve("." + reason(target).getFileName() + ".part");
        try {
            Files.writeString(written, (cause == null ? "unknown" : cause.getMessage()) + "\n", StandardCharsets.UTF_8);
            move(written, reason(target));
        } finally {
            Files.deleteIfExists(written);
        }
        moveTo(target, file);
    }

    private static Path file(Exchange exchange) {
        return Path.of(exchange.getMessage().getHeader(Exchange.FILE_PATH, String.class)).toAbsolutePath();
    }

    private static Path sidecar(Path file) {
        return file.resolveSibling(file.getFileName() + ".json");
    }

    private static Path reason(Path file) {
        return file.resolveSibling(file.getFileName() + ".reason");
    }

    /** The file's name in the folder; a name already taken there gets a numbered suffix rather than being overwritten. */
    private static Path freeName(Path folder, Path file) {
        String name = file.getFileName().toString();
        Path target = folder.resolve(name);
        for (int i = 1; Files.exists(target) || Files.exists(sidecar(target)) || Files.exists(reason(target)); i++) {
            target = folder.resolve(name + "." + i);
        }
        return target;
    }

    /** Moves a file and its sidecar to the target's name. */
    private static void moveTo(Path target, Path file) throws IOException {
        Path sidecar = sidecar(file);
        if (Files.exists(sidecar)) {
            move(sidecar, sidecar(target));
        }
        move(file, target);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to); // another file system: copy and delete
        }
    }

    private static String firstLine(String message) {
        return message == null ? "" : message.lines().findFirst().orElse("");
    }
}
