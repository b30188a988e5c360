package routes;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.builder.RouteBuilder;

import broker.EmbeddedBroker;
import contract.EventSchemas;
import contract.SourceTopics;
import viewer.ViewerPage;

/** The live web viewer on the HTTP port: {@code GET /} and the page's own scripts and styles under {@code /viewer/}. */
public class ViewerRoutes extends RouteBuilder {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public void configure() throws Exception {
        if (!Boolean.parseBoolean(setting("firehose.viewer.enabled")) || !Boolean.parseBoolean(setting("camel.server.enabled"))) {
            return;
        }
        EmbeddedBroker broker = getContext().getRegistry().lookupByNameAndType("broker", EmbeddedBroker.class);
        EventSchemas schemas = getContext().getRegistry().lookupByNameAndType("eventSchemas", EventSchemas.class);
        ViewerPage viewer = new ViewerPage(setting("firehose.viewer.ws-url"), broker.port("mqtt"), broker.port("mqtt-ws"),
                broker.port("mqtt-wss"), Integer.parseInt(setting("firehose.viewer.max-events")), () -> schemaLinks(schemas));
        from("platform-http:/?httpMethodRestrict=GET,HEAD").routeId("viewer").process(viewer::page);
        from("platform-http:/viewer?matchOnUriPrefix=true&httpMethodRestrict=GET,HEAD").routeId("viewer-assets").process(viewer::asset);
    }

    /** The sources' base topics and the schema files, for the page to link each event to its schema. */
    private String schemaLinks(EventSchemas schemas) {
        ObjectNode links = JSON.createObjectNode();
        links.set("bases", JSON.valueToTree(SourceTopics.of(getContext())));
        ArrayNode files = links.putArray("files");
        if (schemas != null) {
            schemas.index().forEach(entry -> files.add(entry.file()));
        }
        return links.toString();
    }

    private String setting(String key) {
        return getContext().getPropertiesComponent().resolveProperty(key).orElse("").trim();
    }
}
