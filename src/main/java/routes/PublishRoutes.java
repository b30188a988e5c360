package routes;

import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.paho.PahoConstants;

import contract.EventSchemas;
import contract.OffSchema;
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

        // every event checked against its JSON Schema on its way out: counted and logged when off it, never held back
        // loaded once while the broker started (FirehoseConfiguration), for the checks and the documents ContractRoutes serves
        EventSchemas schemas = getContext().getRegistry().lookupByNameAndType("eventSchemas", EventSchemas.class);
        if (schemas == null) { // a context without Firehose's configuration
            schemas = EventSchemas.load();
            bindToRegistry("eventSchemas", schemas);
        }
        OffSchema offSchema = new OffSchema(schemas, getContext().getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class));
        bindToRegistry("offSchema", offSchema);

        from("direct:publish").routeId("publish")
                .process(offSchema)
                .setHeader(PahoConstants.CAMEL_PAHO_OVERRIDE_TOPIC, header(Topic.HEADER))
                .to("paho:firehose?qos={{firehose.publish.qos}}");

        // for stream sources that cannot replay their input anyway: in order, without waiting for each PUBACK
        from("direct:publish-pipelined").routeId("publish-pipelined")
                .process(offSchema)
                .setHeader(PahoConstants.CAMEL_PAHO_OVERRIDE_TOPIC, header(Topic.HEADER))
                .to("paho-pipelined:firehose?qos={{firehose.publish.qos}}");
    }
}
