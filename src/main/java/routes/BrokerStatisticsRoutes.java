package routes;

import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.paho.PahoConstants;

import contract.OffSchema;
import publish.Topic;

/**
 * Publishes the broker's figures under {@code $SYS/broker/...} with Mosquitto's names and formats.
 * Not retained, unlike Mosquitto: Artemis hands retained messages to new subscribers without its
 * MQTT-4.7.2-1 filter, so a plain {@code #} subscriber would get the {@code $SYS} tree too.
 */
public class BrokerStatisticsRoutes extends RouteBuilder {

    @Override
    public void configure() {
        int seconds = Integer.parseInt(getContext().resolvePropertyPlaceholders("{{firehose.broker.sys-interval}}").trim());
        if (seconds <= 0) {
            return;
        }
        from("timer:sys?delay=0&period=" + seconds * 1000L).routeId("broker-sys")
                .setBody(method("broker", "sysTopics"))
                .split(simple("${body.entrySet()}"))
                    .setHeader(Topic.HEADER, simple("${body.key}"))
                    .setHeader(PahoConstants.CAMEL_PAHO_MSG_RETAINED, constant(false))
                    .setHeader(PahoConstants.CAMEL_PAHO_MSG_QOS, constant(0))
                    .setBody(simple("${body.value}"))
                    .setHeader(OffSchema.SOURCE, constant("sys"))
                    .to("direct:publish");
    }
}
