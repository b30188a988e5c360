package routes;

import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.paho.PahoConstants;

import publish.Topic;

/**
 * The one way events reach the broker: send an exchange with a JSON body and the {@link Topic#HEADER} header
 * to {@code direct:publish}; it goes out through camel-paho with the internal account.
 */
public class PublishRoutes extends RouteBuilder {

    @Override
    public void configure() {
        // the internal client reconnects by itself; give it the time to before an event counts as failed
        errorHandler(defaultErrorHandler()
                .maximumRedeliveries(Integer.parseInt(getContext().resolvePropertyPlaceholders("{{firehose.publish.retries}}").strip()))
                .redeliveryDelay(Long.parseLong(getContext().resolvePropertyPlaceholders("{{firehose.publish.retry-delay}}").strip()))
                .useExponentialBackOff().retryAttemptedLogLevel(LoggingLevel.WARN));

        from("direct:publish").routeId("publish")
                .setHeader(PahoConstants.CAMEL_PAHO_OVERRIDE_TOPIC, header(Topic.HEADER))
                .to("paho:firehose?qos={{firehose.publish.qos}}");

        // for stream sources that cannot replay their input anyway: in order, without waiting for each PUBACK
        from("direct:publish-pipelined").routeId("publish-pipelined")
                .setHeader(PahoConstants.CAMEL_PAHO_OVERRIDE_TOPIC, header(Topic.HEADER))
                .to("paho-pipelined:firehose?qos={{firehose.publish.qos}}");
    }
}
