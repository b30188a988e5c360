package firehose;

import org.apache.camel.main.Main;
import org.slf4j.LoggerFactory;

/** Starts Firehose: camel-main with the embedded broker and the routes in package {@code routes}. */
public final class Firehose {

    private Firehose() {
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
            LoggerFactory.getLogger(Firehose.class).error("Firehose could not start: {}", e.getMessage(), e);
            // the broker's threads would otherwise keep a half-started process alive
            System.exit(1);
        }
    }
}
