package firehose;

import org.apache.camel.main.Main;
import broker.artemis.members.ArtemisMembers;
import org.slf4j.LoggerFactory;

/** Starts Firehose: camel-main with the embedded broker and the routes in package {@code routes}. */
public final class Firehose {

    private Firehose() {
    }

    /** True once the JVM has begun to shut down (a shutdown hook can no longer be added). */
    private static boolean exiting() {
        try {
            Thread probe = new Thread(() -> { });
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException shuttingDown) {
            return true;
        }
    }

    public static void main(String[] args) throws Exception {
        Main main = new Main(); // FirehoseConfiguration: camel.main.configuration-classes in application.properties
        // camel-main reads route template blocks only from properties files; let -D give them too
        System.getProperties().stringPropertyNames().stream()
                .filter(key -> key.startsWith("camel.route-template["))
                .forEach(key -> main.addOverrideProperty(key, System.getProperty(key)));
        try {
            System.exit(main.run(args));
        } catch (Exception e) {
            if (exiting()) {
                // SIGTERM while starting: what failed is what the shutdown took away (the broker stops itself)
                LoggerFactory.getLogger(Firehose.class).info("Firehose was stopped while it was starting");
                System.exit(0);
            }
            ArtemisMembers.Mismatch artemis = mismatchIn(e);
            if (artemis != null) { // one line: what of Artemis is not there, and its row of docs/artemis-changes.md
                LoggerFactory.getLogger(Firehose.class).error("Firehose could not start: {}", artemis.getMessage());
                System.exit(1);
            }
            LoggerFactory.getLogger(Firehose.class).error("Firehose could not start: {}", e.getMessage(), e);
            // the broker's threads would otherwise keep a half-started process alive
            System.exit(1);
        }
    }

    private static ArtemisMembers.Mismatch mismatchIn(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof ArtemisMembers.Mismatch mismatch) {
                return mismatch;
            }
        }
        return null;
    }
}
