package viewer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import org.apache.camel.Exchange;
import org.apache.camel.Message;

/**
 * The live web viewer: one page and its assets, all from the jar (the MQTT and chart libraries from their WebJars).
 * The page learns where the broker's WebSocket listener is from its meta tags; every response carries a
 * Content-Security-Policy that allows the page's own scripts and styles, a connection to that WebSocket and requests
 * to its own origin (the recorded events of {@code GET /history}) only.
 */
public final class ViewerPage {

    /** Request path → content type and classpath resource; nothing else is served. */
    private static final Map<String, Asset> ASSETS = Map.of(
            "/viewer/viewer.js", Asset.of("text/javascript", "viewer/viewer.js"),
            "/viewer/viewer.css", Asset.of("text/css", "viewer/viewer.css"),
            "/viewer/paho-mqtt.js", Asset.of("text/javascript", "META-INF/resources/webjars/paho-mqtt/1.1.0/paho-mqtt-min.js"),
            "/viewer/uplot.js", Asset.of("text/javascript", "META-INF/resources/webjars/uplot/1.6.30/dist/uPlot.iife.min.js"),
            "/viewer/uplot.css", Asset.of("text/css", "META-INF/resources/webjars/uplot/1.6.30/dist/uPlot.min.css"));

    /** A host name or address as a Host header may carry it (anything else is not echoed into a header). */
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}]");

    private final String wsUrl;
    private final int wsPort;
    private final int wssPort;
    private final String template;
    private final Supplier<String> schemas;
    private volatile byte[] page;

    /**
     * {@code wsUrl}: the WebSocket URL the page connects to; empty: the page's host, {@code wsPort} (or, for a page
     * loaded over HTTPS, {@code wssPort} when above 0), path {@code /mqtt}.
     */
    public ViewerPage(String wsUrl, int mqttPort, int wsPort, int wssPort, int maxEvents) {
        this(wsUrl, mqttPort, wsPort, wssPort, maxEvents, () -> "{}");
    }

    /**
     * {@code schemas}: what the page links each event's schema by (JSON: {@code bases}, source to base topics, and
     * {@code files}, the schema files), asked for at the first request, once the sources' routes exist.
     */
    public ViewerPage(String wsUrl, int mqttPort, int wsPort, int wssPort, int maxEvents, Supplier<String> schemas) {
        if (!wsUrl.isEmpty()) {
            URI uri = URI.create(wsUrl);
            if (!"ws".equals(uri.getScheme()) && !"wss".equals(uri.getScheme()) || uri.getHost() == null) {
                throw new IllegalArgumentException("firehose.viewer.ws-url must be a ws:// or wss:// URL, not '" + wsUrl + "'");
            }
        }
        this.wsUrl = wsUrl;
        this.wsPort = wsPort;
        this.wssPort = wssPort;
        this.schemas = schemas;
        this.template = new String(Asset.of("text/html", "viewer/index.html").bytes, StandardCharsets.UTF_8)
                .replace("{{ws-url}}", escape(wsUrl))
                .replace("{{ws-port}}", String.valueOf(wsPort))
                .replace("{{wss-port}}", wssPort > 0 ? String.valueOf(wssPort) : "")
                .replace("{{mqtt-port}}", String.valueOf(mqttPort))
                .replace("{{max-events}}", String.valueOf(maxEvents));
    }

    private byte[] page() {
        byte[] made = page;
        if (made == null) {
            made = template.replace("{{schemas}}", escape(schemas.get())).getBytes(StandardCharsets.UTF_8);
            page = made;
        }
        return made;
    }

    /** {@code GET /}: the page. */
    public void page(Exchange exchange) {
        Message out = exchange.getMessage();
        String host = requestHost(out);
        out.removeHeaders("*");
        secure(out, host);
        out.setHeader(Exchange.CONTENT_TYPE, "text/html; charset=utf-8");
        out.setBody(page());
    }

    /** {@code GET /viewer/...}: one of the page's scripts and styles, or 404. */
    public void asset(Exchange exchange) {
        Message out = exchange.getMessage();
        String uri = out.getHeader(Exchange.HTTP_URI, "", String.class);
        Asset asset = ASSETS.get(uri.split("\\?", 2)[0]);
        String host = requestHost(out);
        out.removeHeaders("*");
        secure(out, host);
        if (asset == null) {
            out.setHeader(Exchange.HTTP_RESPONSE_CODE, 404);
            out.setHeader(Exchange.CONTENT_TYPE, "text/plain; charset=utf-8");
            out.setBody("not found\n");
            return;
        }
        out.setHeader(Exchange.CONTENT_TYPE, asset.type + "; charset=utf-8");
        out.setHeader("Cache-Control", "public, max-age=3600");
        out.setBody(asset.bytes);
    }

    /** The Content-Security-Policy for a page whose request named {@code host} (null: not known). */
    private String policy(String host) {
        return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src " + webSocketSources(host)
                + " 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    }

    private void secure(Message out, String host) {
        out.setHeader("Content-Security-Policy", policy(host));
        out.setHeader("X-Content-Type-Options", "nosniff");
        out.setHeader("Referrer-Policy", "no-referrer");
    }

    private String webSocketSources(String host) {
        if (!wsUrl.isEmpty()) {
            URI uri = URI.create(wsUrl);
            return uri.getScheme() + "://" + uri.getRawAuthority();
        }
        if (host == null) {
            return "ws: wss:";
        }
        return "ws://" + host + ":" + wsPort + (wssPort > 0 ? " wss://" + host + ":" + wssPort : "");
    }

    /** The host the request was sent to: its Host header (HTTP/1.1), else the host of its URL (HTTP/2's :authority). */
    private static String requestHost(Message in) {
        String host = hostOf(in.getHeader("Host", String.class));
        if (host == null) {
            String url = in.getHeader(Exchange.HTTP_URL, String.class);
            host = url == null ? null : hostOf(URI.create(url).getRawAuthority());
        }
        return host;
    }

    /** The host name of a Host header ({@code name:port}, {@code [v6]:port}), or null if it is not a plain host. */
    private static String hostOf(String header) {
        if (header == null) {
            return null;
        }
        String host = header.trim();
        int colon = host.lastIndexOf(':');
        if (colon > 0 && host.indexOf(']') < colon && host.substring(colon + 1).chars().allMatch(Character::isDigit)) {
            host = host.substring(0, colon);
        }
        return HOST.matcher(host).matches() ? host : null;
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private record Asset(String type, byte[] bytes) {
        static Asset of(String type, String resource) {
            try (InputStream in = ViewerPage.class.getClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("the viewer's " + resource + " is not in the jar");
                }
                return new Asset(type, in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
