package routes;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.builder.RouteBuilder;

import broker.EmbeddedBroker;
import contract.AsyncApiDocument;
import contract.EventSchemas;
import contract.SourceTopics;
import subunit.Worker;

/**
 * The bus's contract on the HTTP port: {@code GET /asyncapi.yaml}, the AsyncAPI document of what is open and configured
 * now, and {@code GET /schemas/} (the index) and {@code /schemas/<file>}, the payloads' JSON Schemas as they are.
 */
public class ContractRoutes extends RouteBuilder {

    /** A schema file's path under /schemas/: lowercase names, no dot segment, no empty one. */
    private static final Pattern SCHEMA_PATH = Pattern.compile("[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*\\.json");
    /** A Host header's host: a name, an IPv4 address or a bracketed IPv6 one. */
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\\[[0-9A-Fa-f:.]{2,45}]");

    private final ObjectMapper json = new ObjectMapper();

    @Override
    public void configure() throws Exception {
        if (!Boolean.parseBoolean(setting("camel.server.enabled"))) {
            return;
        }
        EventSchemas schemas = Optional.ofNullable(getContext().getRegistry().lookupByNameAndType("eventSchemas", EventSchemas.class))
                .orElseGet(EventSchemas::load);
        AsyncApiDocument document = new AsyncApiDocument(json, schemas, AsyncApiDocument.version());
        byte[] index = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(schemas.index());

        from("platform-http:/asyncapi.yaml?httpMethodRestrict=GET,HEAD").routeId("contract-asyncapi")
                .process(exchange -> answer(exchange, 200, "application/yaml",
                        document.yaml(bus(exchange.getMessage().getHeader("Host", String.class))).getBytes(StandardCharsets.UTF_8)));
        from("platform-http:/schemas?matchOnUriPrefix=true&httpMethodRestrict=GET,HEAD").routeId("contract-schemas")
                .process(exchange -> {
                    // the request's path, as Vert.x normalised it, with or without the route's own /schemas
                    String path = exchange.getMessage().getHeader(Exchange.HTTP_PATH, "", String.class)
                            .replaceFirst("^/schemas(?=/|$)", "").replaceFirst("^/", "");
                    if (path.isEmpty() || path.equals("index.json")) {
                        answer(exchange, 200, "application/json", index);
                        return;
                    }
                    Optional<byte[]> file = SCHEMA_PATH.matcher(path).matches() ? schemas.file(path) : Optional.empty();
                    if (file.isPresent()) {
                        answer(exchange, 200, "application/schema+json", file.get());
                    } else {
                        answer(exchange, 404, "text/plain; charset=utf-8", "no such schema\n".getBytes(StandardCharsets.UTF_8));
                    }
                });
    }

    /** What is open and configured now, as seen by a client that asked for {@code host}. */
    private AsyncApiDocument.Bus bus(String hostHeader) {
        EmbeddedBroker broker = getContext().getRegistry().lookupByNameAndType("broker", EmbeddedBroker.class);
        Map<String, Integer> ports = new LinkedHashMap<>();
        for (AsyncApiDocument.Listener listener : AsyncApiDocument.LISTENERS) {
            ports.put(listener.name(), broker.port(listener.name()));
        }
        String sysInterval = setting("firehose.broker.sys-interval");
        return new AsyncApiDocument.Bus(host(hostHeader), ports, SourceTopics.templated(getContext(), "known-hosts"),
                SourceTopics.templated(getContext(), "set-aside-folder"),
                setting("firehose.subunit.topic"), Worker.name(setting("firehose.subunit.worker")),
                sysInterval.isEmpty() ? 0 : Integer.parseInt(sysInterval));
    }

    /** {@code firehose.public-host} if set, else the request's Host header without its port. */
    private String host(String header) {
        String configured = setting("firehose.public-host");
        if (!configured.isEmpty()) {
            return configured;
        }
        String host = header == null ? "" : header.strip();
        if (host.startsWith("[")) {
            host = host.substring(0, host.indexOf(']') + 1);
        } else if (host.indexOf(':') == host.lastIndexOf(':') && host.contains(":")) {
            host = host.substring(0, host.indexOf(':'));
        }
        // a Host header is the client's to write: anything but a host name or address is not repeated back
        return HOST.matcher(host).matches() ? host : "localhost";
    }

    private static void answer(Exchange exchange, int status, String type, byte[] body) {
        Message out = exchange.getMessage();
        out.getHeaders().clear(); // none of the request's headers goes back
        out.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        out.setHeader(Exchange.CONTENT_TYPE, type);
        out.setHeader("Access-Control-Allow-Origin", "*");
        out.setHeader("X-Content-Type-Options", "nosniff");
        out.setBody(body);
    }

    private String setting(String key) {
        return getContext().getPropertiesComponent().resolveProperty(key).orElse("").trim();
    }
}
