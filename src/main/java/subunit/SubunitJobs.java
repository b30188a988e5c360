package subunit;

import java.io.IOException;
import java.io.InputStream;
import java.io.FilterInputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
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

    private final int timeoutMillis;

    /** {@code timeout}: to connect, and the longest silence while reading headers or body. */
    public SubunitJobs(Duration timeout) {
        this.timeoutMillis = (int) timeout.toMillis();
    }

    /** Body: the job's JSON. Leaves the metadata in {@link SubunitResults#METADATA} and the fetched stream as body. */
    public void fetch(Exchange exchange) throws IOException {
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
    InputStream open(URI url) throws IOException {
        URI gzUrl = URI.create(url + ".gz");
        HttpURLConnection gz = get(gzUrl);
        int gzStatus = status(gzUrl, gz);
        if (gzStatus == 200) {
            return body(gzUrl, gz);
        }
        gz.disconnect();
        HttpURLConnection plain = get(url);
        int plainStatus = status(url, plain);
        if (plainStatus == 200) {
            return body(url, plain);
        }
        plain.disconnect();
        throw new FetchException("fetching " + url + ": HTTP " + plainStatus + " (and HTTP " + gzStatus + " for .gz)", null);
    }

    private HttpURLConnection get(URI url) throws FetchException {
        return connect(url, "GET");
    }

    private int status(URI url, HttpURLConnection connection) throws FetchException {
        try {
            return connection.getResponseCode();
        } catch (IOException e) {
            connection.disconnect();
            throw failure(url, e);
        }
    }

    /** The body; a read that waits longer than the timeout for data fails (a server that stalls mid-stream). */
    private InputStream body(URI url, HttpURLConnection connection) throws FetchException {
        try {
            return new Failing(url, connection.getInputStream());
        } catch (IOException e) {
            throw failure(url, e);
        }
    }

    private HttpURLConnection connect(URI url, String method) throws FetchException {
        try {
            HttpURLConnection connection = (HttpURLConnection) url.toURL().openConnection();
            connection.setRequestMethod(method);
            connection.setConnectTimeout(timeoutMillis);
            connection.setReadTimeout(timeoutMillis);
            connection.setInstanceFollowRedirects(true);
            connection.setRequestProperty("Accept-Encoding", "identity"); // gzip is recognised in the content itself
            return connection;
        } catch (IOException e) {
            throw failure(url, e);
        }
    }

    private FetchException failure(URI url, IOException e) {
        if (e instanceof ConnectException) {
            return new FetchException("fetching " + url + ": cannot connect (" + (e.getMessage() == null ? "refused" : e.getMessage()) + ")", e);
        }
        if (e instanceof SocketTimeoutException) {
            return new FetchException("fetching " + url + ": no data for " + timeoutMillis / 1000.0 + " s", e);
        }
        return new FetchException("fetching " + url + ": " + e, e);
    }

    /** Turns failures while reading the body into {@link FetchException}s, so they are answered 502. */
    private final class Failing extends FilterInputStream {
        private final URI url;

        Failing(URI url, InputStream in) {
            super(in);
            this.url = url;
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (SubunitFormatException e) {
                throw e;
            } catch (IOException e) {
                throw failure(url, e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (SubunitFormatException e) {
                throw e;
            } catch (IOException e) {
                throw failure(url, e);
            }
        }
    }
}
