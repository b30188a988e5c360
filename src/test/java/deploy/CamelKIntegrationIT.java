package deploy;

import broker.config.Secret;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import firehose.FirehoseApp;
import firehose.Subscriber;
import gerrit.FakeGerrit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The Camel K Integration is not fiction: its flows and properties (with the ConfigMap's properties file it mounts)
 * run in Firehose's own runtime, against a fake Gerrit, and an event reaches an MQTT subscriber.
 */
class CamelKIntegrationIT {

    @TempDir
    Path dir;

    @Test
    @SuppressWarnings("unchecked")
    void the_integrations_flows_and_properties_bring_gerrit_events_to_a_subscriber() throws Exception {
        Map<String, Object> integration = (Map<String, Object>) new Load(LoadSettings.builder().build())
                .loadFromString(Files.readString(Path.of("k8s/camel-k/integration.yaml")));
        Map<String, Object> spec = (Map<String, Object>) integration.get("spec");
        Map<String, Object> traits = (Map<String, Object>) spec.get("traits");

        try (FakeGerrit gerrit = new FakeGerrit()) {
            // the flows, pointed at the fake Gerrit (server, port, key, known_hosts): nothing else changed
            List<Object> flows = (List<Object>) spec.get("flows");
            assertEquals(1, flows.size());
            Map<String, Object> templated = (Map<String, Object>) ((Map<String, Object>) flows.get(0)).get("templatedRoute");
            assertEquals("gerrit", templated.get("routeTemplateRef"));
            Map<String, String> local = Map.of("host", "127.0.0.1",
                    "key-file", FakeGerrit.KEYS.resolve("id_ed25519").toAbsolutePath().toString(),
                    "known-hosts", gerrit.writeKnownHosts(dir.resolve("known_hosts")).toString());
            List<Map<String, Object>> parameters = new ArrayList<>();
            for (Map<String, Object> parameter : (List<Map<String, Object>>) templated.get("parameters")) {
                Map<String, Object> copy = new LinkedHashMap<>(parameter);
                copy.computeIfPresent("value", (k, v) -> local.getOrDefault((String) parameter.get("name"), (String) v));
                parameters.add(copy);
            }
            parameters.add(Map.of("name", "port", "value", String.valueOf(gerrit.port())));
            templated.put("parameters", parameters);
            Path flowsFile = dir.resolve("flows.yaml");
            Files.writeString(flowsFile, new Dump(DumpSettings.builder().build()).dumpToString(flows));

            // the properties: the ConfigMap's file, then the Integration's own (Camel K puts them last)
            Properties configMap = new Properties();
            configMap.load(new StringReader(Files.readString(Path.of("k8s/firehose.properties"))));
            FirehoseApp.Builder app = FirehoseApp.builder(dir.resolve("data"));
            configMap.forEach((key, value) -> app.set((String) key, (String) value));
            for (Object line : (List<Object>) ((Map<String, Object>) traits.get("camel")).get("properties")) {
                String[] kv = ((String) line).split("=", 2);
                app.set(kv[0], kv[1]);
            }
            // what only the cluster has: the Secret's file, the volume, the flows loaded by Camel K itself
            app.set("firehose.publisher[zuul].password", "zuul-secret-0042")
                    .set("firehose.broker.data-dir", dir.resolve("data").toString())
                    .set("camel.main.routes-include-pattern", "file:" + flowsFile)
                    .set("firehose.broker.sys-interval", "0");
            try (FirehoseApp running = app.start();
                 Subscriber subscriber = Subscriber.on(running.tcpUrl(), "gerrit/#")) {
                gerrit.awaitOpened(1, Duration.ofSeconds(20));
                String line = FakeGerrit.changeEvent("change-merged", "openstack/nova", "");
                gerrit.send(line);
                Subscriber.Received received = subscriber.next(Duration.ofSeconds(20));
                assertEquals("gerrit/openstack/nova/change-merged", received.topic());
                assertEquals(line, received.payload());
            }
        }
    }
}
