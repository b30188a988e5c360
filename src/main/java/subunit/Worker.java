package subunit;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/** The worker level of subunit topics: the configured name, else this host's name (as the gearman worker used). */
public final class Worker {

    private Worker() {
    }

    public static String name(String configured) {
        if (configured != null && !configured.isBlank()) {
            return configured.strip();
        }
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            String file = Files.readString(Path.of("/etc/hostname")).strip();
            if (!file.isEmpty()) {
                return file;
            }
        } catch (IOException e) {
            // not Linux, or no such file: ask the resolver
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
