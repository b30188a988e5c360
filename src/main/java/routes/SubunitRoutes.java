package routes;

import java.io.File;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.model.rest.RestParamType;

import contract.OffSchema;
import firehose.LeaderElection;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.spi.IdempotentRepository;
import org.apache.camel.support.processor.idempotent.FileIdempotentRepository;

import publish.Topic;
import subunit.SubunitEvent;
import subunit.SubunitFormatException;
import subunit.SubunitInbox;
import subunit.SubunitJobs;
import subunit.SubunitResults;
import subunit.Worker;

/**
 * Subunit v2 test results → {@code <topic>/<worker>/<project>/<build_change>}, from three inputs: the
 * inbox directory, {@code POST /subunit} (the stream, metadata in the query) and {@code POST /subunit/jobs} (a JSON
 * job whose {@code source_url} is fetched). All three go through {@code direct:subunit}.
 */
public class SubunitRoutes extends RouteBuilder {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JSON_TYPE = "application/json";
    /** The platform-http paths of the two HTTP inputs. */
    private static final Set<String> STREAMED = Set.of("subunit", "subunit/jobs");

    @Override
    public void configure() throws Exception {
        IdempotentRepository ledger = FileIdempotentRepository.fileIdempotentRepository(
                new File(setting("firehose.subunit.ledger")), 100_000, 64L * 1024 * 1024);
        getContext().addService(ledger, true, true);
        SubunitResults results = new SubunitResults(setting("firehose.subunit.topic"), Worker.name(setting("firehose.subunit.worker")),
                Integer.parseInt(setting("firehose.subunit.max-failures")), ledger,
                getContext().getRegistry().lookupByNameAndType("metricsRegistry", MeterRegistry.class));
        bindToRegistry("subunitResults", results);

        // errors go back to the input's route, which answers them its own way (HTTP status, error folder)
        from("direct:subunit").routeId("subunit").errorHandler(noErrorHandler())
                .bean(results, "summarize")
                .choice()
                    .when(exchangeProperty(SubunitResults.DUPLICATE).isEqualTo(true))
                        .bean(results, "duplicate")
                    .otherwise()
                        .setHeader(OffSchema.SOURCE, constant("subunit"))
                        .to("direct:publish")
                        .bean(results, "published")
                .end();

        String inbox = setting("firehose.subunit.inbox");
        if (!inbox.isEmpty()) {
            SubunitInbox folders = new SubunitInbox(Path.of(setting("firehose.subunit.done")), Path.of(setting("firehose.subunit.error")));
            // noop: the route moves each file itself once published (or rejected); one the broker refused stays and is retried
            // in a cluster one node at a time reads the inbox (a directory all nodes share)
            from(LeaderElection.source(getContext(), "subunit-inbox", "file:" + Path.of(inbox).toAbsolutePath()
                    + "?include=.*\\.subunit(\\.gz)?&noop=true&idempotent=false"
                    + "&autoCreate=true&readLock=changed&readLockCheckInterval=200&readLockMinAge=200&initialDelay=0&delay=500&sortBy=file:modified"))
                    .routeId("subunit-inbox")
                    .onException(SubunitFormatException.class).handled(true)
                        .process(exchange -> results.rejected(exchange, caught(exchange)))
                        .bean(folders, "reject")
                    .end()
                    .bean(folders, "open")
                    .to("direct:subunit")
                    .bean(folders, "done");
        }

        if (!Boolean.parseBoolean(setting("camel.server.enabled"))) {
            return; // no HTTP server: the inbox only
        }
        httpInput(from("direct:subunit-upload").routeId("subunit-upload"), results)
                .process(SubunitRoutes::uploadMetadata)
                .to("direct:subunit")
                .process(SubunitRoutes::answer);

        SubunitJobs jobs = new SubunitJobs(Duration.ofSeconds(Long.parseLong(setting("firehose.subunit.fetch-timeout"))));
        httpInput(from("direct:subunit-jobs").routeId("subunit-jobs"), results)
                .bean(jobs, "fetch")
                .to("direct:subunit")
                .process(SubunitRoutes::answer);

        // the REST DSL has no per-service endpoint option: both inputs read their request as a stream (spooled to disk
        // past the stream-caching threshold), never whole in memory as the server's body handler would
        getContext().getCamelContextExtension().registerEndpointCallback((uri, endpoint) -> {
            if (endpoint instanceof PlatformHttpEndpoint http && STREAMED.contains(http.getPath().replaceFirst("^/", ""))) {
                http.setUseStreaming(true);
            }
            return endpoint;
        });
        rest("/subunit").tag("subunit")
                .post().id("subunitUpload").to("direct:subunit-upload")
                    .description("Publishes the results of one test run: the request body is a subunit v2 stream (gzipped or not),"
                            + " the build's metadata is in the query; an input published before is answered, not published again")
                    .consumes("application/octet-stream").produces(JSON_TYPE)
                    .param().name("body").type(RestParamType.body).required(true).dataType("string")
                        .description("the subunit v2 stream, as published by subunit-trace or stestr").endParam()
                    .param().name("build_uuid").type(RestParamType.query).required(false).dataType("string").description("the build's id").endParam()
                    .param().name("build_name").type(RestParamType.query).required(false).dataType("string").description("the job's name").endParam()
                    .param().name("build_status").type(RestParamType.query).required(false).dataType("string").description("the build's result").endParam()
                    .param().name("build_change").type(RestParamType.query).required(false).dataType("string")
                        .description("the change number: the topic's last level").endParam()
                    .param().name("build_patchset").type(RestParamType.query).required(false).dataType("string").endParam()
                    .param().name("build_queue").type(RestParamType.query).required(false).dataType("string").endParam()
                    .param().name("build_ref").type(RestParamType.query).required(false).dataType("string").endParam()
                    .param().name("build_branch").type(RestParamType.query).required(false).dataType("string").endParam()
                    .param().name("project").type(RestParamType.query).required(false).dataType("string")
                        .description("the project, e.g. openstack/nova: the topic's levels after the worker").endParam()
                    .param().name("voting").type(RestParamType.query).required(false).dataType("string").endParam()
                    .param().name("build_node").type(RestParamType.query).required(false).dataType("string").endParam()
                    .param().name("log_url").type(RestParamType.query).required(false).dataType("string").endParam()
                    .param().name("source_url").type(RestParamType.query).required(false).dataType("string").endParam()
                    .responseMessage().code(200).responseModel(String.class)
                        .message("published (published: true), or published before (false); with the topic and the event").endResponseMessage()
                    .responseMessage().code(400).contentType(JSON_TYPE).message("bad metadata: {\"error\": reason}").endResponseMessage()
                    .responseMessage().code(422).contentType(JSON_TYPE).message("a truncated or corrupt stream: {\"error\": reason}").endResponseMessage()
                    .responseMessage().code(503).contentType(JSON_TYPE).message("not published (the broker refused it): try again").endResponseMessage()
                .post("/jobs").id("subunitJob").to("direct:subunit-jobs")
                    .description("Publishes the results of one test run fetched from the job's source_url (source_url + \".gz\" first):"
                            + " the body is a JSON job, source_url and the build's metadata fields")
                    .consumes(JSON_TYPE).produces(JSON_TYPE)
                    .param().name("body").type(RestParamType.body).required(true).dataType("object")
                        .description("{\"source_url\": \"https://...\", \"build_uuid\": ..., \"project\": ..., \"build_change\": ..., ...}").endParam()
                    .responseMessage().code(200).responseModel(String.class)
                        .message("published (published: true), or published before (false); with the topic and the event").endResponseMessage()
                    .responseMessage().code(400).contentType(JSON_TYPE).message("a bad job: {\"error\": reason}").endResponseMessage()
                    .responseMessage().code(422).contentType(JSON_TYPE).message("a truncated or corrupt stream: {\"error\": reason}").endResponseMessage()
                    .responseMessage().code(502).contentType(JSON_TYPE).message("source_url could not be fetched: {\"error\": reason}").endResponseMessage()
                    .responseMessage().code(503).contentType(JSON_TYPE).message("not published (the broker refused it): try again").endResponseMessage();
    }

    /** How the HTTP inputs answer errors: the reason, with 400 (bad request), 422 (bad stream), 502 (fetch) or 503. */
    private static ProcessorDefinition<?> httpInput(RouteDefinition route, SubunitResults results) {
        return route.streamCache("false") // stream caching would hold the whole upload in memory
                .onException(IllegalArgumentException.class).handled(true)
                    .process(exchange -> results.rejected(exchange, caught(exchange))).process(error(400))
                .end()
                .onException(SubunitFormatException.class).handled(true)
                    .process(exchange -> results.rejected(exchange, caught(exchange))).process(error(422))
                .end()
                .onException(SubunitJobs.FetchException.class).handled(true)
                    .process(exchange -> results.rejected(exchange, caught(exchange))).process(error(502))
                .end()
                .onException(Exception.class).handled(true)
                    .process(error(503))
                .end();
    }

    private static void uploadMetadata(Exchange exchange) {
        Map<String, String> parameters = new LinkedHashMap<>();
        String query = exchange.getMessage().getHeader(Exchange.HTTP_QUERY, String.class);
        if (query != null && !query.isEmpty()) {
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                if (!name.isEmpty()) {
                    parameters.put(name, value);
                }
            }
        }
        exchange.setProperty(SubunitResults.METADATA, SubunitEvent.metadata(parameters));
        Object from = exchange.getMessage().getHeader("CamelVertxPlatformHttpRemoteAddress");
        exchange.setProperty(SubunitResults.INPUT, "upload" + (from == null ? "" : " from " + from));
    }

    /** 200 with {@code published} (false: the same input was published before), the topic and the event. */
    private static void answer(Exchange exchange) throws Exception {
        ObjectNode answer = JSON.createObjectNode();
        answer.put("published", !exchange.getProperty(SubunitResults.DUPLICATE, false, Boolean.class));
        answer.put("topic", exchange.getMessage().getHeader(Topic.HEADER, String.class));
        answer.set("event", JSON.readTree(exchange.getMessage().getBody(String.class)));
        reply(exchange, 200, answer);
    }

    private static Processor error(int status) {
        return exchange -> {
            Throwable cause = caught(exchange);
            String reason = status == 503 ? "not published, try again: " + cause.getMessage() : cause.getMessage();
            reply(exchange, status, JSON.createObjectNode().put("error", reason));
        };
    }

    private static void reply(Exchange exchange, int status, ObjectNode body) throws Exception {
        var message = exchange.getMessage();
        message.removeHeaders("*");
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        message.setHeader(Exchange.CONTENT_TYPE, "application/json");
        message.setBody(JSON.writeValueAsString(body) + "\n");
    }

    private static Throwable caught(Exchange exchange) {
        return exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
    }

    private String setting(String key) {
        return getContext().resolvePropertyPlaceholders("{{" + key + "}}").strip();
    }
}
