package routes;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.StartupListener;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;
import org.apache.camel.model.rest.CollectionFormat;
import org.apache.camel.model.rest.RestDefinition;
import org.apache.camel.model.rest.RestParamType;

import history.EventJson;
import history.History;
import history.HistoryApi;

/**
 * The history of the bus on the HTTP port: {@code GET /history}, {@code /history/{id}}, {@code /history/{id}/payload};
 * and the catch-up stream {@code GET /events}, a handler on the Vert.x router under platform-http (a stream is not an
 * exchange: see {@code history.EventsEndpoint}). All declared with the REST DSL, so that {@code /openapi.json} shows them.
 */
public class HistoryRoutes extends RouteBuilder {

    private static final String JSON = "application/json";
    private static final String NDJSON = "application/x-ndjson";
    private static final String ID = "an event id (opaque; ids sort in arrival order)";

    @Override
    public void configure() throws Exception {
        History history = getContext().getRegistry().lookupByNameAndType("history", History.class);
        String enabled = getContext().getPropertiesComponent().resolveProperty("camel.server.enabled").orElse("true").trim();
        if (history == null || !Boolean.parseBoolean(enabled)) {
            return;
        }
        bindToRegistry("historyApi", new HistoryApi(history));

        // GET and HEAD each, as the history always answered both; each verb its own route into the same HistoryApi
        RestDefinition rest = rest("/history").tag("history");
        for (String method : new String[] {"get", "head"}) {
            String head = method.equals("head") ? "-head" : "";
            list(rest.verb(method).id("history" + head).routeId("history" + head).to("bean:historyApi?method=answer"));
            rest.verb(method, "/{id}").id("historyEvent" + head).routeId("history-event" + head).to("bean:historyApi?method=answer")
                    .description("One recorded event: the same object as in GET /history's list")
                    .produces(JSON)
                    .param().name("id").type(RestParamType.path).required(true).dataType("string").description(ID).endParam()
                    .responseMessage().code(200).responseModel(String.class).message("{\"id\", \"topic\", \"received\", \"payload\"}").endResponseMessage()
                    .responseMessage().code(404).contentType(JSON).message("no such event: {\"error\": reason}").endResponseMessage()
                    .responseMessage().code(503).contentType(JSON).message("the history store is unavailable (Retry-After)").endResponseMessage();
            rest.verb(method, "/{id}/payload").id("historyPayload" + head).routeId("history-payload" + head).to("bean:historyApi?method=answer")
                    .description("The exact bytes published as the event's payload")
                    .produces("application/json,text/plain; charset=utf-8,application/octet-stream")
                    .param().name("id").type(RestParamType.path).required(true).dataType("string").description(ID).endParam()
                    .responseMessage().code(200).responseModel(String.class)
                        .message("the payload: application/json when it is JSON, text/plain when UTF-8 text, else application/octet-stream")
                        .endResponseMessage()
                    .responseMessage().code(404).contentType(JSON).message("no such event: {\"error\": reason}").endResponseMessage()
                    .responseMessage().code(503).contentType(JSON).message("the history store is unavailable (Retry-After)").endResponseMessage();
        }

        // documentation only: the Vert.x handler below (order -1) answers every GET /events before any Camel route
        rest("/events").tag("history")
                .get().id("events").to("direct:events")
                    .description("The catch-up stream (Server-Sent Events): the recorded events after the cursor, then live events as"
                            + " they are published, in order, with no gap and no duplicate; each message has id: <event id> and"
                            + " data: <the event object of GET /history>; a comment every 15 s keeps the stream open")
                    .produces("text/event-stream")
                    .param().name("topic").type(RestParamType.query).required(false).dataType("array").collectionFormat(CollectionFormat.multi)
                        .arrayType("string").description("an MQTT topic filter (+, #), repeatable: any of them matches; default #").endParam()
                    .param().name("after").type(RestParamType.query).required(false).dataType("string").description("start after this event id (not with since)").endParam()
                    .param().name("since").type(RestParamType.query).required(false).dataType("string")
                        .description("start from this instant: ISO-8601 (2026-12-06T12:00:00Z) or epoch milliseconds; neither after nor since: live only").endParam()
                    .param().name("Last-Event-ID").type(RestParamType.header).required(false).dataType("string")
                        .description("resume after this event id (a browser's EventSource sends it by itself); wins over after and since").endParam()
                    .responseMessage().code(200).responseModel(String.class).message("the stream").endResponseMessage()
                    .responseMessage().code(400).contentType(JSON).message("a bad parameter: {\"error\": reason naming it}").endResponseMessage()
                    .responseMessage().code(503).contentType(JSON).message("too many streams open (firehose.events.max-streams); Retry-After").endResponseMessage();
        from("direct:events").routeId("events")
                .process(exchange -> {
                    // reached only if the stream's handler were missing from the router: say so rather than answer an empty 200
                    exchange.getMessage().getHeaders().clear();
                    exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 503);
                    exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, JSON);
                    exchange.getMessage().setHeader("Retry-After", "10");
                    exchange.getMessage().setBody("{\"error\":\"the event stream is not available\"}");
                });

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
                // a path under /history that none of its REST services matches (/history/a/b): the history's 404
                router.route("/history/*").method(HttpMethod.GET).method(HttpMethod.HEAD).last().handler(HistoryRoutes::noSuchResource);
            }
        });
    }

    private static void noSuchResource(RoutingContext context) {
        context.response().setStatusCode(404).putHeader("Access-Control-Allow-Origin", "*").putHeader("X-Content-Type-Options", "nosniff")
                .putHeader("Content-Type", JSON).end(Buffer.buffer(EventJson.error(HistoryApi.NO_SUCH_RESOURCE)));
    }

    /** {@code /history}'s query parameters: those {@code history.HistoryQuery} knows, no other (an unknown one is a 400). */
    private static void list(RestDefinition rest) {
        rest.description("Recorded events, newest first (oldest first with after or order=asc), a page at a time; a full page has"
                        + " next, the relative URL of the next one. As NDJSON (Accept: application/x-ndjson or format=ndjson): one"
                        + " event object a line, limit up to 100000")
                .produces(JSON + "," + NDJSON)
                .param().name("topic").type(RestParamType.query).required(false).dataType("array").collectionFormat(CollectionFormat.multi)
                    .arrayType("string").description("an MQTT topic filter (+, #; write # as %23), repeatable: any of them matches; default #").endParam()
                .param().name("since").type(RestParamType.query).required(false).dataType("string")
                    .description("only events received at or after this instant: ISO-8601 (2026-12-06T12:00:00Z) or epoch milliseconds").endParam()
                .param().name("until").type(RestParamType.query).required(false).dataType("string")
                    .description("only events received at or before this instant: ISO-8601 or epoch milliseconds").endParam()
                .param().name("delta").type(RestParamType.query).required(false).dataType("integer")
                    .description("seconds before until (or now): instead of since").endParam()
                .param().name("after").type(RestParamType.query).required(false).dataType("string").description("only events strictly after this event id").endParam()
                .param().name("before").type(RestParamType.query).required(false).dataType("string").description("only events strictly before this event id").endParam()
                .param().name("order").type(RestParamType.query).required(false).dataType("string").allowableValues("asc", "desc")
                    .description("desc (newest first) unless after is given, then asc").endParam()
                .param().name("limit").type(RestParamType.query).required(false).dataType("integer").defaultValue("100")
                    .description("events at most: 1 to 1000, to 100000 as NDJSON").endParam()
                .param().name("format").type(RestParamType.query).required(false).dataType("string").allowableValues("json", "ndjson")
                    .description("ndjson: one event object a line (as Accept: application/x-ndjson); default json").endParam()
                .responseMessage().code(200).responseModel(String.class).message("{\"events\": [{\"id\", \"topic\", \"received\", \"payload\"}], \"next\"}; as NDJSON one event a line").endResponseMessage()
                .responseMessage().code(400).contentType(JSON).message("a bad or unknown parameter, or a query too long: {\"error\": reason naming it}").endResponseMessage()
                .responseMessage().code(503).contentType(JSON).message("the history store is unavailable (Retry-After)").endResponseMessage();
    }
}
