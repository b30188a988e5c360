package gerrit;

import java.util.Map;

import org.apache.camel.Endpoint;
import org.apache.camel.support.DefaultComponent;

/** {@code gerrit-stream:host[:port]?username=...&keyFile=...&knownHosts=...}: one exchange per event line. */
public class GerritStreamComponent extends DefaultComponent {

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        String host = remaining;
        int port = 29418;
        int colon = remaining.lastIndexOf(':');
        if (colon > 0) {
            host = remaining.substring(0, colon);
            port = Integer.parseInt(remaining.substring(colon + 1));
        }
        GerritStreamEndpoint endpoint = new GerritStreamEndpoint(uri, this, host, port);
        setProperties(endpoint, parameters);
        return endpoint;
    }
}
