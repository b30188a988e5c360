package routes;

import java.util.Objects;

import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.model.rest.RestBindingMode;

/**
 * The HTTP API's REST configuration and its OpenAPI document, {@code GET /openapi.json}, built by camel-openapi-java
 * from the REST DSL of {@link SubunitRoutes} and {@link HistoryRoutes}: the document is the routes, it cannot drift.
 */
public class ApiRoutes extends RouteBuilder {

    /** The project's version (the jar's manifest); "dev" when run from the classes. */
    static final String VERSION = Objects.requireNonNullElse(ApiRoutes.class.getPackage().getImplementationVersion(), "dev");

    @Override
    public void configure() throws Exception {
        if (!Boolean.parseBoolean(getContext().getPropertiesComponent().resolveProperty("camel.server.enabled").orElse("true").trim())) {
            return; // no HTTP server: no API
        }
        restConfiguration()
                .component("platform-http") // the HTTP port's server, camel.server.port; no second one
                .bindingMode(RestBindingMode.off) // each route writes its own status, headers and body
                .apiContextPath("/openapi.json")
                .apiContextRouteId("openapi")
                .useXForwardHeaders(true) // servers: relative to where the document was read, or the proxy's X-Forwarded-* URL
                .apiProperty("openapi.version", "3.0.3")
                .apiProperty("cors", "true") // readable from any origin, like the history
                .apiProperty("api.title", "Firehose")
                .apiProperty("api.version", VERSION)
                .apiProperty("api.description", "The HTTP API of Firehose, a public read-only MQTT event bus: subunit test results"
                        + " in (POST /subunit, POST /subunit/jobs); the events the bus recorded out (GET /history, and the"
                        + " catch-up stream GET /events), when the history is enabled.");
    }
}
