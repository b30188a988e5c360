package routes;

import org.apache.camel.builder.RouteBuilder;

import history.History;
import history.HistoryApi;

/** The history of the bus on the HTTP port: {@code GET /history}, {@code /history/{id}}, {@code /history/{id}/payload}. */
public class HistoryRoutes extends RouteBuilder {

    @Override
    public void configure() throws Exception {
        History history = getContext().getRegistry().lookupByNameAndType("history", History.class);
        if (history == null || !Boolean.parseBoolean(getContext().getPropertiesComponent().resolveProperty("camel.server.enabled").orElse("true").trim())) {
            return;
        }
        HistoryApi api = new HistoryApi(history);
        from("platform-http:/history?matchOnUriPrefix=true&httpMethodRestrict=GET,HEAD").routeId("history").process(api::answer);
    }
}
