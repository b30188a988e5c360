package deploy;

import broker.config.Secret;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.xml.parsers.DocumentBuilderFactory;

import firehose.ExternalTool;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The Kubernetes manifests ({@code kubectl kustomize k8s/}) checked against the application itself: ports, probe paths,
 * property keys, cluster members, secrets, security context; the Camel K Integration against the same sources, the
 * pom's version and the launcher's JVM options; the Containerfile and the README against the one launcher that sets
 * the JVM options, and the image's Java 25 and AOT cache. Only the checks of what {@code kubectl kustomize} renders
 * need kubectl (skipped without it, failed with -Dfirehose.interop.required=true); the others run anywhere.
 */
class ManifestsTest {

    private static final Path K8S = Path.of("k8s");
    /** Where kubectl is (-Dfirehose.kubectl=/nowhere shows which checks run without it). */
    private static final String KUBECTL = System.getProperty("firehose.kubectl", "/usr/bin/kubectl");
    private static List<Map<String, Object>> objects;
    private static Properties defaults;
    private static Properties deployed;

    @BeforeAll
    static void read() throws IOException {
        defaults = properties(Files.readString(Path.of("src/main/resources/application.properties")));
    }

    /** {@code kubectl kustomize k8s/}, rendered once; without kubectl the calling test is skipped (or failed, in CI). */
    private static synchronized void render() throws IOException {
        ExternalTool.require(KUBECTL, "version", "--client");
        if (objects != null) {
            return;
        }
        ExternalTool.Result result = ExternalTool.run(Duration.ofSeconds(60), KUBECTL, "kustomize", K8S.toString());
        assertEquals(0, result.exitCode(), result.err());
        List<Map<String, Object>> rendered = new ArrayList<>();
        for (Object document : new Load(LoadSettings.builder().build()).loadAllFromString(result.out())) {
            if (document != null) {
                rendered.add(map(document));
            }
        }
        objects = rendered;
        deployed = properties(configMapFile("firehose.properties"));
    }

    @Test
    void container_ports_are_the_applications_own() throws IOException {
        render();
        Map<String, Integer> ports = containerPorts();
        assertEquals(port(defaults, "firehose.broker.mqtt-port"), ports.get("mqtt"));
        assertEquals(port(defaults, "firehose.broker.ws-port"), ports.get("mqtt-ws"));
        assertEquals(port(defaults, "firehose.broker.tls-port"), ports.get("mqtt-tls"));
        assertEquals(port(defaults, "firehose.broker.wss-port"), ports.get("mqtt-wss"));
        assertEquals(port(defaults, "camel.server.port"), ports.get("http"));
        assertEquals(port(defaults, "camel.management.port"), ports.get("management"));
        assertEquals(port(deployed, "firehose.cluster.port"), ports.get("cluster"));
    }

    @Test
    void the_public_service_carries_mqtt_websocket_tls_and_http() throws IOException {
        render();
        Map<String, Object> service = object("Service", "firehose");
        Map<Integer, String> ports = new LinkedHashMap<>();
        for (Map<String, Object> port : maps(path(service, "spec", "ports"))) {
            ports.put((Integer) port.get("port"), (String) port.get("targetPort"));
        }
        assertEquals(Map.of(1883, "mqtt", 80, "mqtt-ws", 8883, "mqtt-tls", 443, "mqtt-wss", port(defaults, "camel.server.port"), "http"), ports);
        Map<String, Object> headless = object("Service", "firehose-nodes");
        assertEquals("None", path(headless, "spec", "clusterIP"));
        assertEquals(Boolean.TRUE, path(headless, "spec", "publishNotReadyAddresses"), "nodes find each other while they start");
    }

    @Test
    void probes_ask_the_management_port_for_health() throws IOException {
        render();
        Map<String, Object> container = container();
        for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
            Map<String, Object> get = map(path(container, probe, "httpGet"));
            assertEquals("management", get.get("port"), probe);
            String path = (String) get.get("path");
            assertTrue(path.equals("/observe/health/live") || path.equals("/observe/health/ready"), probe + ": " + path);
        }
        assertEquals("/observe/health/ready", path(container, "readinessProbe", "httpGet", "path"));
        assertEquals("true", defaults.getProperty("camel.management.health-check-enabled"));
    }

    @Test
    void every_firehose_key_in_the_config_map_is_one_of_the_applications() throws IOException {
        render();
        Set<String> known = keysOf(Files.exists(Path.of("src/main/resources/application.properties"))
                ? readQuietly(Path.of("src/main/resources/application.properties")) : "");
        Set<String> unknown = new TreeSet<>();
        for (String key : deployed.stringPropertyNames()) {
            if ((key.startsWith("firehose.") || key.startsWith("camel.main.") || key.startsWith("camel.cluster.")) && !known.contains(normalize(key))) {
                unknown.add(key);
            }
        }
        assertEquals(Set.of(), unknown, "keys the application does not have");
    }

    @Test
    void cluster_members_are_the_stateful_sets_pods() throws IOException {
        render();
        Map<String, Object> statefulSet = object("StatefulSet", "firehose");
        int replicas = (Integer) path(statefulSet, "spec", "replicas");
        String service = (String) path(statefulSet, "spec", "serviceName");
        assertNotNull(object("Service", service));
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < replicas; i++) {
            expected.add(path(statefulSet, "metadata", "name") + "-" + i + "." + service + ":" + deployed.getProperty("firehose.cluster.port"));
        }
        assertEquals(expected, List.of(deployed.getProperty("firehose.cluster.members").split(",")));
        // each pod names itself as the others reach it, and leaves itself out of the members
        Map<String, String> env = new LinkedHashMap<>();
        for (Map<String, Object> variable : maps(container().get("env"))) {
            env.put((String) variable.get("name"), (String) variable.get("value"));
        }
        assertEquals("$(POD_NAME)." + service, env.get("FIREHOSE_CLUSTER_HOST"));
        assertEquals("true", deployed.getProperty("camel.cluster.kubernetes.enabled"));
    }

    @Test
    void secrets_are_referenced_and_never_shipped() throws IOException {
        render();
        assertTrue(objects.stream().noneMatch(o -> "Secret".equals(o.get("kind"))), "the base ships no Secret");
        List<String> secretVolumes = new ArrayList<>();
        for (Map<String, Object> volume : maps(path(object("StatefulSet", "firehose"), "spec", "template", "spec", "volumes"))) {
            if (volume.containsKey("secret")) {
                secretVolumes.add((String) map(volume.get("secret")).get("secretName"));
            }
        }
        assertEquals(List.of("firehose-secrets", "firehose-ssh", "firehose-tls"), secretVolumes);
        for (String key : deployed.stringPropertyNames()) {
            if (key.endsWith("password")) {
                assertTrue(deployed.getProperty(key).startsWith("file:/etc/firehose/"), key + " comes from a mounted Secret");
            }
        }
    }

    @Test
    void containers_run_as_non_root_on_a_read_only_root() throws IOException {
        render();
        Map<String, Object> pod = map(path(object("StatefulSet", "firehose"), "spec", "template", "spec"));
        assertEquals(Boolean.TRUE, path(pod, "securityContext", "runAsNonRoot"));
        assertTrue((Integer) path(pod, "securityContext", "runAsUser") > 0);
        Map<String, Object> container = container();
        assertEquals(Boolean.TRUE, path(container, "securityContext", "readOnlyRootFilesystem"));
        assertEquals(Boolean.FALSE, path(container, "securityContext", "allowPrivilegeEscalation"));
        assertNotNull(path(container, "resources", "limits", "memory"));
        assertNotNull(path(container, "resources", "requests", "memory"));
    }

    @Test
    void the_role_allows_leases_and_reading_pods_only() throws IOException {
        render();
        Map<String, Object> role = object("Role", "firehose-leader-election");
        List<String> rules = new ArrayList<>();
        for (Map<String, Object> rule : maps(role.get("rules"))) {
            rules.add(rule.get("apiGroups") + " " + rule.get("resources") + " " + rule.get("verbs"));
        }
        assertEquals(List.of("[coordination.k8s.io] [leases] [get, list, watch, create, update, patch]", "[] [pods] [get, list, watch]"), rules);
        assertEquals("firehose", path(object("StatefulSet", "firehose"), "spec", "template", "spec", "serviceAccountName"));
        assertNotNull(object("PodDisruptionBudget", "firehose"));
        assertNotNull(path(object("StatefulSet", "firehose"), "spec", "template", "spec", "topologySpreadConstraints"));
    }
    @Test
    void the_stateful_set_runs_the_images_entrypoint() throws IOException {
        render();
        // no command of its own: the image's entrypoint (bin/firehose), given only camel-main arguments
        assertFalse(container().containsKey("command"));
        assertEquals(List.of("-pl", "file:/etc/firehose/config/firehose.properties"), container().get("args"));
    }

    // ---- what needs no kubectl ----

    private static Map<String, Object> integration() throws IOException {
        return map(new Load(LoadSettings.builder().build()).loadFromString(Files.readString(K8S.resolve("camel-k/integration.yaml"))));
    }

    @Test
    void the_camel_k_integration_runs_the_same_sources_as_the_stateful_set() throws IOException {
        Map<String, Object> integration = integration();
        assertEquals("camel.apache.org/v1", integration.get("apiVersion"));
        assertEquals("Integration", integration.get("kind"));
        // the ConfigMap kustomize makes carries k8s/routes.yaml as it is
        Object routes = new Load(LoadSettings.builder().build()).loadFromString(Files.readString(K8S.resolve("routes.yaml")));
        assertEquals(routes, path(integration, "spec", "flows"), "k8s/routes.yaml and the Integration's flows differ");
        List<Object> configs = list(path(integration, "spec", "traits", "mount", "configs"));
        assertEquals(List.of("configmap:firehose-config"), configs);
    }

    @Test
    void the_camel_k_integration_runs_the_route_builders_the_jar_runs() throws IOException {
        Properties jar = new Properties();
        try (var in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            jar.load(in);
        }
        String key = "camel.main.routes-builder-classes=";
        List<Object> given = list(path(integration(), "spec", "traits", "camel", "properties")).stream()
                .filter(p -> String.valueOf(p).startsWith(key)).toList();
        assertEquals(List.of(key + jar.getProperty("camel.main.routes-builder-classes")), given,
                "k8s/camel-k/integration.yaml must list the route builders application.properties lists");
    }

    @Test
    void the_camel_k_integration_depends_on_the_version_the_pom_builds() throws Exception {
        Element project = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(Path.of("pom.xml").toFile()).getDocumentElement();
        String coordinates = "mvn:" + child(project, "groupId") + ":" + child(project, "artifactId") + ":" + child(project, "version");
        List<Object> dependencies = list(path(integration(), "spec", "dependencies"));
        List<Object> firehose = dependencies.stream().filter(d -> String.valueOf(d).startsWith("mvn:" + child(project, "groupId") + ":")).toList();
        assertEquals(List.of(coordinates), firehose, "k8s/camel-k/integration.yaml must name the version pom.xml builds");
    }

    @Test
    void the_camel_k_integration_repeats_the_launchers_jvm_options_for_a_container() throws Exception {
        // Camel K builds its own image and starts the JVM itself, without bin/firehose: its jvm trait must say the same
        Path limit = Files.createTempFile("memory", ".max");
        try {
            Files.writeString(limit, "2147483648\n");
            String command = dryRun(Map.of("FIREHOSE_CGROUP_MEMORY", limit.toString(), "FIREHOSE_AOT", "off"));
            List<String> words = List.of(command.split(" "));
            List<String> launcherOptions = words.subList(1, words.indexOf("-jar"));
            assertEquals(launcherOptions, list(path(integration(), "spec", "traits", "jvm", "options")));
        } finally {
            Files.delete(limit);
        }
        assertTrue(Files.readString(K8S.resolve("camel-k/integration.yaml")).contains("bin/firehose"), "the Integration says why it repeats them");
    }

    @Test
    void the_containerfile_and_the_readme_start_firehose_through_the_same_launcher() throws IOException {
        String containerfile = Files.readString(Path.of("Containerfile"));
        Matcher entrypoint = Pattern.compile("(?m)^ENTRYPOINT \\[\"([^\"]+)\"]").matcher(containerfile);
        assertTrue(entrypoint.find(), containerfile);
        assertEquals("/opt/firehose/bin/firehose", entrypoint.group(1));
        assertTrue(containerfile.contains("COPY bin/firehose /opt/firehose/bin/firehose\n"));
        assertTrue(containerfile.contains("COPY target/firehose.jar /opt/firehose/firehose.jar\n"));
        String readme = Files.readString(Path.of("README.md"));
        Matcher run = Pattern.compile("(?s)## Two commands.*?```sh\\n(.*?)```").matcher(readme);
        assertTrue(run.find());
        String firstCommand = run.group(1).lines().filter(l -> !l.isBlank() && !l.startsWith("#")).findFirst().orElseThrow();
        assertEquals("mvn -q -B package -DskipTests && bin/firehose", firstCommand);
        // the JVM options live in the launcher only: not in the Containerfile, and the training run starts Firehose
        // through the launcher (its -XX:AOTMode=on check aside)
        String launcher = Files.readString(Path.of("bin/firehose"));
        assertTrue(launcher.contains("-Xmx768m -Xmn256m") && launcher.contains("-XX:MaxRAMPercentage=75"), launcher);
        String instructions = containerfile.lines().filter(l -> !l.startsWith("#")).collect(Collectors.joining("\n"));
        assertFalse(instructions.contains("-Xmx") || instructions.contains("-XX:") || instructions.contains("JAVA_OPTS"), "options outside the launcher");
        String training = Files.readString(Path.of("bin/firehose-train"));
        assertTrue(training.contains("launcher=$home/bin/firehose") && training.contains("FIREHOSE_AOT=$1") && training.contains("start train "), training);
        assertFalse(training.contains("-jar") || training.contains("-Xmx") || training.contains("-Xmn") || training.contains("RAMPercentage"), training);
    }

    @Test
    void the_image_runs_java_25_as_a_non_root_user_with_an_aot_cache_trained_while_it_is_built() throws Exception {
        List<String> lines = Files.readString(Path.of("Containerfile")).lines().toList();
        List<String> froms = lines.stream().filter(l -> l.startsWith("FROM ")).toList();
        String last = froms.get(froms.size() - 1);
        Matcher base = Pattern.compile("FROM eclipse-temurin:(\\d+)-(jre|jdk)\\S*").matcher(last);
        assertTrue(base.matches(), last);
        assertTrue(Integer.parseInt(base.group(1)) >= 25, "the runtime is Java 25 or later: " + last);
        for (String from : froms) {
            String image = from.split("\\s+")[1];
            assertFalse(image.contains("/") && image.substring(0, image.indexOf('/')).matches(".*[.:].*|localhost"), "no registry host: " + from);
        }
        int finalStage = lines.indexOf(last);
        int copyJar = lines.indexOf("COPY target/firehose.jar /opt/firehose/firehose.jar");
        int copyTraining = lines.indexOf("COPY bin/firehose-train /opt/firehose/bin/firehose-train");
        int train = indexOf(lines, l -> l.startsWith("RUN ") && l.contains("/opt/firehose/bin/firehose-train"));
        int user = indexOf(lines, l -> l.startsWith("USER "));
        assertTrue(finalStage < copyJar && finalStage < copyTraining && copyJar < train && copyTraining < train,
                "the training runs in the final stage, on the jar the image ships");
        assertTrue(train < user, "the training writes beside the jar as root, before the image's user is set");
        assertTrue(lines.get(user).matches("USER [1-9][0-9]*(:[1-9][0-9]*)?"), "non-root, by number: " + lines.get(user));
        assertEquals(1, lines.stream().filter(l -> l.startsWith("USER ")).count(), "one USER: the image runs as it");
        // the training step checks that it made the cache, where the launcher looks for it
        String trainStep = String.join("\n", lines.subList(train, indexOf(lines, l -> l.isBlank(), train)));
        assertTrue(trainStep.contains("test -s /opt/firehose/firehose.aot") && trainStep.contains("test -s /opt/firehose/firehose.aot.record"), trainStep);
        assertTrue(Files.isExecutable(Path.of("bin/firehose-train")));
        Path java25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        if (Files.isExecutable(java25)) {
            // the launcher's own rule: the jar the image ships, /opt/firehose/firehose.jar, has its cache at /opt/firehose/firehose.aot
            String command = dryRun(Map.of("FIREHOSE_JAR", "/opt/firehose/firehose.jar", "FIREHOSE_AOT", "train", "FIREHOSE_JAVA", java25.toString()));
            assertTrue(command.contains(" -XX:AOTCacheOutput=/opt/firehose/firehose.aot -jar /opt/firehose/firehose.jar"), command);
        }
    }

    private static int indexOf(List<String> lines, java.util.function.Predicate<String> test) {
        return indexOf(lines, test, 0);
    }

    private static int indexOf(List<String> lines, java.util.function.Predicate<String> test, int from) {
        for (int i = from; i < lines.size(); i++) {
            if (test.test(lines.get(i))) {
                return i;
            }
        }
        return lines.size();
    }

    /** bin/firehose's command (FIREHOSE_DRY_RUN=1), without JAVA_OPTS, with the environment given. */
    private static String dryRun(Map<String, String> env) throws Exception {
        ProcessBuilder launcher = new ProcessBuilder(Path.of("bin/firehose").toAbsolutePath().toString());
        launcher.environment().remove("JAVA_OPTS");
        launcher.environment().remove("FIREHOSE_JAVA");
        launcher.environment().put("FIREHOSE_DRY_RUN", "1");
        launcher.environment().putAll(env);
        Process process = launcher.redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, process.waitFor(), out);
        return out;
    }

    private static String child(Element parent, String name) {
        for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element element && element.getTagName().equals(name)) {
                return element.getTextContent().strip();
            }
        }
        throw new AssertionError("pom.xml has no " + name);
    }

    private static Map<String, Integer> containerPorts() {
        Map<String, Integer> ports = new LinkedHashMap<>();
        for (Map<String, Object> port : maps(container().get("ports"))) {
            ports.put((String) port.get("name"), (Integer) port.get("containerPort"));
        }
        return ports;
    }

    private static Map<String, Object> container() {
        List<Map<String, Object>> containers = maps(path(object("StatefulSet", "firehose"), "spec", "template", "spec", "containers"));
        assertEquals(1, containers.size());
        return containers.get(0);
    }

    private static String configMapFile(String key) {
        Map<String, Object> configMap = objects.stream().filter(o -> "ConfigMap".equals(o.get("kind"))).findFirst().orElseThrow();
        assertTrue(String.valueOf(path(configMap, "metadata", "name")).startsWith("firehose-config-"), "a generated name: edits roll out");
        return (String) map(configMap.get("data")).get(key);
    }

    private static Map<String, Object> object(String kind, String name) {
        return objects.stream().filter(o -> kind.equals(o.get("kind")) && name.equals(path(o, "metadata", "name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
    }

    /** Every key application.properties has, set or shown commented out; {@code [name]} as {@code [*]}. */
    private static Set<String> keysOf(String text) {
        return text.lines().map(l -> l.startsWith("#") ? l.substring(1) : l).filter(l -> l.matches("[a-z][\\w.\\[\\]-]*=.*"))
                .map(l -> normalize(l.substring(0, l.indexOf('=')))).collect(Collectors.toCollection(TreeSet::new));
    }

    private static String normalize(String key) {
        return key.replaceAll("\\[[^]]*]", "[*]");
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Properties properties(String text) throws IOException {
        Properties properties = new Properties();
        properties.load(new StringReader(text));
        return properties;
    }

    private static int port(Properties properties, String key) {
        return Integer.parseInt(properties.getProperty(key).strip());
    }

    private static Object path(Map<String, Object> object, String... keys) {
        Object current = object;
        for (String key : keys) {
            current = current == null ? null : map(current).get(key);
        }
        return current;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> maps(Object value) {
        return (List<Map<String, Object>>) value;
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> list(Object value) {
        return (List<T>) value;
    }
}
