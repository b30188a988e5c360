package routes;

import io.vertx.core.http.HttpMethod;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;

import history.History;
import history.HistoryApi;

/**
 * The history of the bus on the HTTP port: {@code GET /history}, {@code /history/{id}}, {@code /history/{id}/payload};
 * and the catch-up stream {@code GET /events}, a handler on the Vert.x router under platform-http (a stream is not an
 * exchange: see {@code history.EventsEndpoint}).
 */
public class HistoryRoutes extends RouteBuilder {

    @Override
    public void configure() throws Exception {
        History history = getContext().getRegistry().lookupByNameAndType("history", History.class);
        String enabled = getContext().getPropertiesComponent().resolveProperty("camel.server.enabled").orElse("true").trim();
        if (history == null || !Boolean.parseBoolean(enabled)) {
            return;
        }
        HistoryApi api = new HistoryApi(history);
        from("platform-http:/history?matchOnUriPrefix=true&httpMethodRestrict=GET,HEAD").routeId("history").process(api::answer);

        int port = Integer.parseInt(getContext().getPropertiesComponent().resolveProperty("camel.server.port").orElse("8080").trim());
        getContext().addStartupListener(new StartupListener() {
            @Override
            public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
                // the HTTP server is not up yet
            }

            @Override
            public void onCamelContextFullyStarted(CamelContext context, boolean alreadyStarted) {
                VertxPlatformHttpRouter router = VertxPlatformHttpRouter.lookup(context, VertxPlatformHttpRouter.getRouterNameFromPort(port));
                if (router == null) {
                    router = VertxPlatformHttpRouter.lookup(context);
                }
                router.route(HttpMethod.GET, "/events").order(-1).handler(history.events()::handle);
            }
        });
    }
}
