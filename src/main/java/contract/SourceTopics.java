package contract;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.model.Model;
import org.apache.camel.model.RouteDefinition;

/**
 * The base topics the sources publish under, as configured: each Gerrit server's and each Launchpad mailbox's (routes
 * made from their templates, from properties or YAML alike, told apart by a parameter only that template has; the
 * template's default when none is configured), the subunit topic, and the subtrees of the services that publish
 * themselves. What the AsyncAPI document's channels and the viewer's schema links are made from.
 */
public final class SourceTopics {

    private SourceTopics() {
    }

    /** Source (gerrit, launchpad, subunit, zuul, ansible) → its base topics, in configuration order. */
    public static Map<String, List<String>> of(CamelContext context) {
        Map<String, List<String>> bases = new LinkedHashMap<>();
        bases.put("gerrit", orDefault(templated(context, "known-hosts"), "gerrit"));
        bases.put("launchpad", orDefault(templated(context, "set-aside-folder"), "launchpad"));
        bases.put("subunit", List.of(context.getPropertiesComponent().resolveProperty("firehose.subunit.topic").orElse("gearman-subunit").strip()));
        bases.put("zuul", List.of("zuul"));
        bases.put("ansible", List.of("ansible"));
        return bases;
    }

    /** The {@code topic} of each route made from the template that has {@code parameterOfTheTemplate}. */
    public static List<String> templated(CamelContext context, String parameterOfTheTemplate) {
        List<String> topics = new ArrayList<>();
        Model model = context.getCamelContextExtension().getContextPlugin(Model.class);
        for (RouteDefinition route : model.getRouteDefinitions()) {
            Map<String, Object> parameters = route.getTemplateParameters();
            if (route.isCreatedFromTemplate() && parameters != null && parameters.containsKey(parameterOfTheTemplate)
                    && parameters.get("topic") != null) {
                topics.add(context.resolvePropertyPlaceholders(String.valueOf(parameters.get("topic"))).strip());
            }
        }
        return topics;
    }

    private static List<String> orDefault(List<String> topics, String fallback) {
        List<String> distinct = topics.stream().distinct().toList();
        return distinct.isEmpty() ? List.of(fallback) : distinct;
    }
}
