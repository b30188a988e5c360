package subunit;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;

/**
 * {@code POST /subunit/jobs}: a JSON job ({@code source_url} and build fields), as the gearman worker received them.
 * The stream is fetched from {@code source_url + ".gz"} first, then {@code source_url}; gzip is recognised by content.
 */
public final class SubunitJobs {

    /** The stream could not be fetched: the answer is 502 with this reason. */
    public static final class FetchException extends IOException {
        public FetchException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final Duration timeout;

    public SubunitJobs(Duration timeout) {
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    /** Body: the job's JSON. Leaves the metadata in {@link SubunitResults#METADATA} and the fetched stream as body. */
    public void fetch(Exchange exchange) throws IOException, InterruptedException {
        JsonNode job;
        try {
            job = JSON.readTree(exchange.getMessage().getBody(String.class));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the job is not JSON: " + e.getOriginalMessage());
        }
        if (job == null || !job.isObject()) {
            throw new IllegalArgumentException("the job must be a JSON object with source_url and the build fields");
        }
        ObjectNode metadata = SubunitEvent.metadata(job);
        JsonNode source = metadata.get("source_url");
        if (source == null || !source.isTextual() || source.textValue().isBlank()) {
            throw new IllegalArgumentException("the job has no source_url");
        }
        URI url;
        try {
            url = URI.create(source.textValue().strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("source_url is not a URL: " + e.getMessage());
        }
        if (!"http".equalsIgnoreCase(url.getScheme()) && !"https".equalsIgnoreCase(url.getScheme())) {
            throw new IllegalArgumentException("source_url must be http or https: " + url);
        }
        exchange.setProperty(SubunitResults.METADATA, metadata);
        exchange.setProperty(SubunitResults.INPUT, url.toString());
        exchange.getMessage().setBody(open(url));
    }

    /** The stream at {@code url.gz}, or else at {@code url}; any other answer than 200 is an error with its status. */
    InputStream open(URI url) throws IOException, InterruptedException {
        HttpResponse<InputStream> gz = get(URI.create(url + ".gz"));
        if (gz.statusCode() == 200) {
            return gz.body();
        }
        gz.body().close();
        HttpResponse<InputStream> plain = get(url);
        if (plain.statusCode() == 200) {
            return plain.body();
        }
        plain.body().close();
        throw new FetchException("fetching " + url + ": HTTP " + plain.statusCode() + " (and HTTP " + gz.statusCode() + " for .gz)", null);
    }

    private HttpResponse<InputStream> get(URI url) throws IOException, InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(url).timeout(timeout).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (ConnectException e) {
            throw new FetchException("fetching " + url + ": cannot connect (" + (e.getMessage() == null ? "refused" : e.getMessage()) + ")", e);
        } catch (HttpConnectTimeoutException e) {
            throw new FetchException("fetching " + url + ": no connection within " + timeout.toSeconds() + " s", e);
        } catch (HttpTimeoutException e) {
            throw new FetchException("fetching " + url + ": no answer within " + timeout.toSeconds() + " s", e);
        } catch (IOException e) {
            throw new FetchException("fetching " + url + ": " + e, e);
        }
    }
}
