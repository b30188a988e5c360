package routes;

import org.apache.camel.builder.RouteBuilder;

import contract.OffSchema;
import firehose.LeaderElection;

/**
 * Gerrit {@code stream-events} → {@code <topic>/<project>/<event type>}, payload the line exactly as Gerrit sent it.
 * A template: each {@code camel.route-template[<id>].template-id=gerrit} block in the properties is one server.
 */
public class GerritRoutes extends RouteBuilder {

    @Override
    public void configure() {
        routeTemplate("gerrit")
                .templateParameter("host")
                .templateParameter("port", "29418")
                .templateParameter("username")
                .templateParameter("key-file")
                .templateParameter("key-passphrase", "")
                .templateParameter("known-hosts")
                .templateParameter("topic", "gerrit")
                .templateParameter("command", "gerrit stream-events")
                .templateParameter("keepalive", "15")
                .templateParameter("keepalive-max-missed", "3")
                .templateParameter("max-backoff", "60")
                .templateParameter("max-line-length", "4000000")
                // one node of a cluster at a time holds the stream (each node reading it would publish every event twice)
                .from(LeaderElection.source(getContext(), "gerrit-{{host}}-{{port}}", "gerrit-stream:{{host}}:{{port}}?username={{username}}&keyFile=RAW({{key-file}})"
                        + "&keyPassphrase=RAW({{key-passphrase}})&knownHosts=RAW({{known-hosts}})&command=RAW({{command}})"
                        + "&keepAlive={{keepalive}}&keepAliveMaxMissed={{keepalive-max-missed}}"
                        + "&maxBackoff={{max-backoff}}&maxLineLength={{max-line-length}}&topic=RAW({{topic}})"))
                .setHeader(OffSchema.SOURCE, constant("gerrit"))
                // Gerrit does not replay its stream: publish in order without waiting for each PUBACK
                .to("direct:publish-pipelined");
    }
}
