package routes;

import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.paho.PahoConstants;

import publish.Topic;

/** Publishes the broker's figures under {@code $SYS/broker/...}, retained, as Mosquitto does. */
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
                    .setHeader(PahoConstants.CAMEL_PAHO_MSG_RETAINED, constant(true))
                    .setHeader(PahoConstants.CAMEL_PAHO_MSG_QOS, constant(0))
                    .setBody(simple("${body.value}"))
                    .to("direct:publish");
    }
}
