package subunit;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Takes the body of {@code POST /subunit} and {@code POST /subunit/jobs} as sent, whatever its content type. curl
 * sends {@code --data-binary @run.subunit} as {@code application/x-www-form-urlencoded} unless told otherwise, and
 * Camel's HTTP server would then decode the stream, or the job's JSON, as form fields (answering a bare 400, or a
 * JSON error about a character the client never sent). A form is never what these endpoints read, so such a body is
 * taken as raw bytes; a multipart upload ({@code curl -F}) is answered 415 with what to send instead.
 */
public final class UploadBodies implements Handler<RoutingContext> {

    @Override
    public void handle(RoutingContext context) {
        HttpServerRequest request = context.request();
        String type = request.getHeader(HttpHeaders.CONTENT_TYPE);
        if (request.method() == HttpMethod.POST && type != null && request.path().startsWith("/subunit")) {
            String lower = type.toLowerCase();
            if (lower.startsWith("multipart/")) {
                context.response().setStatusCode(415).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                        .end("{\"error\":\"send the stream (or the job's JSON) as the request body, e.g. curl --data-binary @run.subunit; "
                                + "a multipart form (curl -F) is not read\"}\n");
                return;
            }
            if (lower.startsWith("application/x-www-form-urlencoded")) {
                request.headers().set(HttpHeaders.CONTENT_TYPE, "application/octet-stream");
            }
        }
        context.next();
    }
}
