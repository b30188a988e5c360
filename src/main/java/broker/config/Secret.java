package broker.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;

/** A password as operators write it: plain text, {@code env:NAME} or {@code file:/path}. */
public final class Secret {

    private Secret() {
    }

    public static String resolve(String value) {
        if (value == null) {
            return "";
        }
        if (value.startsWith("env:")) {
            String name = value.substring(4);
            String found = System.getenv(name);
            if (found == null) {
                throw new IllegalArgumentException("environment variable " + name + " is not set");
            }
            return found;
        }
        if (value.startsWith("file:")) {
            Path file = Path.of(value.substring(5));
            try {
                return Files.readString(file).strip();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read password file " + file, e);
            }
        }
        return value;
    }

    public static String random() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
