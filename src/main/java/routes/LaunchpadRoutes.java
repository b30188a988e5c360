package routes;

import broker.config.Secret;
import org.apache.camel.Endpoint;
import org.apache.camel.RouteTemplateContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.util.StringHelper;

import contract.OffSchema;
import firehose.LeaderElection;
import io.micrometer.core.instrument.MeterRegistry;
import launchpad.LaunchpadMailbox;

/**
 * Launchpad bug mail over IMAP(S) → {@code <topic>/<project>/bug/<number>}. A template: each
 * {@code camel.route-template[<id>].template-id=launchpad} block in the properties is one mailbox.
 */
public class LaunchpadRoutes extends RouteBuilder {

    @Override
    public void configure() {
        routeTemplate("launchpad")
                .templateParameter("host")
                .templateParameter("port", "993")
                .templateParameter("ssl", "true")
                .templateParameter("ssl-trust", "none")
                .templateParameter("username")
                .templateParameter("password")
                .templateParameter("folder", "INBOX")
                .templateParameter("topic", "launchpad")
                .templateParameter("poll-interval", "60")
                .templateParameter("processed", "seen")
                .templateParameter("processed-folder", "firehose-processed")
                .templateParameter("set-aside-folder", "firehose-set-aside")
                .templateBean("mailbox", LaunchpadMailbox.class, template -> new LaunchpadMailbox(
                        String.valueOf(template.getParameters().getOrDefault("routeId", param(template, "host"))),
                        param(template, "topic"),
                        param(template, "processed"),
                        param(template, "processed-folder"),
                        param(template, "set-aside-folder"),
                        template.getCamelContext().getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class)))
                // the camel-mail endpoint, built in code: imap or imaps, and a trust setting only when one is given
                .templateBean("inbox", Endpoint.class, template -> template.getCamelContext().getEndpoint(LaunchpadMailbox.endpointUri(
                        param(template, "host"), param(template, "port"),
                        Boolean.parseBoolean(param(template, "ssl")), param(template, "ssl-trust"),
                        param(template, "username"), Secret.resolve(param(template, "password")),
                        param(template, "folder"), param(template, "poll-interval"))))
                .from(LeaderElection.source(getContext(), "launchpad-{{host}}", "ref:{{inbox}}"))
                .to("bean:{{mailbox}}?method=read")
                .choice()
                    .when(exchangeProperty(LaunchpadMailbox.SET_ASIDE).isNotNull())
                        .to("bean:{{mailbox}}?method=setAside")
                    .otherwise()
                        .setHeader(OffSchema.SOURCE, constant("launchpad"))
                        .to("direct:publish")
                        .to("bean:{{mailbox}}?method=published")
                .end();
    }

    /** A template parameter as written ({@code poll-interval}) or as camel-main passes it on ({@code pollInterval}). */
    private static String param(RouteTemplateContext template, String name) {
        String value = template.getProperty(name, String.class);
        if (value == null) {
            value = template.getProperty(StringHelper.dashToCamelCase(name), String.class);
        }
        return value;
    }
}
