package routes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.parameters.Parameter;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.spi.RestRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import firehose.FirehoseApp;

/**
 * {@code GET /openapi.json}: a valid OpenAPI 3 document whose operations are exactly the REST services Camel runs, and
 * whose parameters for {@code /history} and {@code /events} are exactly those the history accepts.
 */
class OpenApiIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    static Path data;
    static FirehoseApp app;

    @BeforeAll
    static void start() {
        app = FirehoseApp.builder(data.resolve("app")).start();
    }

    @AfterAll
    static void stop() {
        if (app != null) {
            app.close();
        }
    }

    @Test
    void should_serve_a_valid_openapi_3_document_on_the_http_port() throws Exception {
        HttpResponse<String> answer = get(app, "/openapi.json");
        assertEquals(200, answer.statusCode(), answer.body());
        assertTrue(answer.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), answer.headers().toString());
        OpenAPI document = parse(answer.body());
        assertTrue(document.getOpenapi().startsWith("3."), document.getOpenapi());
        assertEquals("Firehose", document.getInfo().getTitle());
        assertNotNull(document.getInfo().getVersion());
        assertNotNull(document.getInfo().getDescription());
    }

    @Test
    void should_document_exactly_the_rest_services_camel_runs() throws Exception {
        Set<String> documented = operations(parse(get(app, "/openapi.json").body()));
        Set<String> running = running(app);
        assertEquals(running, documented);
        assertEquals(new TreeSet<>(Set.of("POST /subunit", "POST /subunit/jobs", "GET /history", "HEAD /history", "GET /history/{id}",
                "HEAD /history/{id}", "GET /history/{id}/payload", "HEAD /history/{id}/payload", "GET /events")), documented);
    }

    @Test
    void should_declare_the_history_query_parameters_the_history_accepts_and_no_other() throws Exception {
        OpenAPI document = parse(get(app, "/openapi.json").body());
        for (String path : List.of("/history", "/events")) {
            Operation operation = document.getPaths().get(path).getGet();
            Set<String> declared = operation.getParameters().stream().filter(p -> p.getIn().equals("query")).map(Parameter::getName)
                    .collect(Collectors.toCollection(TreeSet::new));
            for (String name : declared) {
                HttpResponse<String> answer = get(app, path + "?" + name + "=");
                assertFalse(answer.body().contains("unknown parameter"), path + " refused its declared " + name + ": " + answer.body());
            }
            HttpResponse<String> undeclared = get(app, path + "?callback=x");
            assertEquals(400, undeclared.statusCode(), undeclared.body());
            // the 400 for an unknown parameter lists the known ones: exactly those declared
            String known = undeclared.body().replaceAll("(?s).*known: ([a-z, ]+).*", "$1");
            assertEquals(new TreeSet<>(Arrays.asList(known.split(", "))), declared, path + ": " + undeclared.body());
        }
        assertTrue(document.getPaths().get("/history").getGet().getParameters().stream().noneMatch(Parameter::getRequired), "all optional");
        assertEquals(Set.of("application/json", "application/x-ndjson"),
                document.getPaths().get("/history").getGet().getResponses().get("200").getContent().keySet());
        assertEquals(Set.of("text/event-stream"), document.getPaths().get("/events").getGet().getResponses().get("200").getContent().keySet());
        Parameter lastEventId = document.getPaths().get("/events").getGet().getParameters().stream()
                .filter(p -> p.getIn().equals("header")).findFirst().orElseThrow();
        assertEquals("Last-Event-ID", lastEventId.getName());
    }

    @Test
    void should_keep_reading_uploads_as_a_stream() {
        for (String path : List.of("subunit", "subunit/jobs")) {
            assertTrue(app.context().getEndpoints().stream().anyMatch(endpoint -> endpoint instanceof PlatformHttpEndpoint http
                    && http.getPath().replaceFirst("^/", "").equals(path) && http.isUseStreaming()), path);
        }
        for (String route : List.of("subunit-upload", "subunit-jobs")) {
            assertFalse(app.context().getRoute(route).isStreamCaching(), route + " holds no upload in memory");
        }
    }

    @Test
    void should_leave_the_history_out_when_it_is_disabled() throws Exception {
        try (FirehoseApp bare = FirehoseApp.builder(data.resolve("bare")).set("firehose.history.enabled", "false").start()) {
            Set<String> documented = operations(parse(get(bare, "/openapi.json").body()));
            assertEquals(running(bare), documented);
            assertEquals(Set.of("POST /subunit", "POST /subunit/jobs"), documented);
        }
    }

    /** {@code METHOD /path} of each operation in the document. */
    @Test
    void should_name_the_server_as_the_client_reached_it() throws Exception {
        // read directly: relative to where the document was read (never the listener's 0.0.0.0)
        OpenAPI direct = parse(get(app, "/openapi.json").body());
        assertEquals(1, direct.getServers().size(), direct.getServers().toString());
        assertFalse(direct.getServers().get(0).getUrl().contains("://"), direct.getServers().toString());
        // behind a proxy: the public URL it forwards
        HttpResponse<String> proxied = HTTP.send(HttpRequest.newBuilder(URI.create(app.httpUrl() + "/openapi.json"))
                .header("X-Forwarded-Host", "bus.example.org").header("X-Forwarded-Proto", "https").build(), HttpResponse.BodyHandlers.ofString());
        assertEquals("https://bus.example.org", parse(proxied.body()).getServers().get(0).getUrl());
    }

    @Test
    void should_answer_every_documented_operation_at_its_path() throws Exception {
        // each operation called as documented, with an id of the right form where the path has one: the service answers
        // it (JSON, or the stream), never "no such path" or "method not allowed"
        for (String operation : operations(parse(get(app, "/openapi.json").body()))) {
            String method = operation.substring(0, operation.indexOf(' '));
            String path = operation.substring(operation.indexOf(' ') + 1).replace("{id}", "6893a1c2d4000000a1b2c3");
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(app.httpUrl() + path + (path.equals("/events") ? "?after=x" : "")))
                    .timeout(Duration.ofSeconds(20));
            request = switch (method) {
                case "POST" -> request.header("Content-Type", path.endsWith("/jobs") ? "application/json" : "application/octet-stream")
                        .POST(HttpRequest.BodyPublishers.ofString(path.endsWith("/jobs") ? "{}" : ""));
                case "HEAD" -> request.method("HEAD", HttpRequest.BodyPublishers.noBody());
                default -> request.GET();
            };
            HttpResponse<String> answer = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(answer.statusCode() != 405 && answer.statusCode() < 500, operation + ": " + answer.statusCode() + " " + answer.body());
            assertTrue(answer.headers().firstValue("Content-Type").orElse("").startsWith("application/json"),
                    operation + " answered by its service, not by the server: " + answer.statusCode() + " " + answer.headers().map());
        }
    }

    private static Set<String> operations(OpenAPI document) {
        Set<String> operations = new TreeSet<>();
        for (Map.Entry<String, PathItem> path : document.getPaths().entrySet()) {
            for (PathItem.HttpMethod method : path.getValue().readOperationsMap().keySet()) {
                operations.add(method + " " + path.getKey());
            }
        }
        return operations;
    }

    /** {@code METHOD /path} of each REST service the application's Camel runs, but the document's own. */
    private static Set<String> running(FirehoseApp app) {
        Set<String> running = new TreeSet<>();
        for (RestRegistry.RestService service : app.context().getRestRegistry().listAllRestServices()) {
            String path = service.getBasePath() + (service.getUriTemplate() == null ? "" : service.getUriTemplate());
            if (!path.equals("/openapi.json")) {
                running.add(service.getMethod().toUpperCase(Locale.ROOT) + " " + path);
            }
        }
        return running;
    }

    private static OpenAPI parse(String json) {
        SwaggerParseResult result = new OpenAPIV3Parser().readContents(json);
        assertEquals(List.of(), result.getMessages(), json);
        assertNotNull(result.getOpenAPI(), json);
        return result.getOpenAPI();
    }

    private static HttpResponse<String> get(FirehoseApp app, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(app.httpUrl() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
