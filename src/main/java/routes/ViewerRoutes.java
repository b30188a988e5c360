package routes;

import org.apache.camel.builder.RouteBuilder;

import broker.EmbeddedBroker;
import viewer.ViewerPage;

/** The live web viewer on the HTTP port: {@code GET /} and the page's own scripts and styles under {@code /viewer/}. */
public class ViewerRoutes extends RouteBuilder {

    @Override
    public void configure() throws Exception {
        if (!Boolean.parseBoolean(setting("firehose.viewer.enabled")) || !Boolean.parseBoolean(setting("camel.server.enabled"))) {
            return;
        }
        EmbeddedBroker broker = getContext().getRegistry().lookupByNameAndType("broker", EmbeddedBroker.class);
        ViewerPage viewer = new ViewerPage(setting("firehose.viewer.ws-url"), broker.port("mqtt"), broker.port("mqtt-ws"),
                broker.port("mqtt-wss"), Integer.parseInt(setting("firehose.viewer.max-events")));
        from("platform-http:/?httpMethodRestrict=GET,HEAD").routeId("viewer").process(viewer::page);
        from("platform-http:/viewer?matchOnUriPrefix=true&httpMethodRestrict=GET,HEAD").routeId("viewer-assets").process(viewer::asset);
    }

    private String setting(String key) {
        return getContext().getPropertiesComponent().resolveProperty(key).orElse("").trim();
    }
}
