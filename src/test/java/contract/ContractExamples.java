package contract;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Hand-written example payloads, at least one per entry of {@code schemas/index.json}, and the broken copies made from
 * them by reading the schema files: each required field left out in turn, each typed field given a value of another JSON
 * type. Shared by {@link EventSchemasExamplesTest} (the original files) and {@link AsyncApiBundleIT} (the served bundle).
 * <p>
 * Under {@code src/test/resources/contract/examples/}: {@code <source>/<type>.json} (a Gerrit type without a schema of
 * its own: {@code gerrit/other.json}), or {@code <source>/<type>.<variant>.json} for more than one; a $SYS example is the
 * text the broker publishes, {@code sys/<name>.txt}.
 */
final class ContractExamples {

    static final Path DIR = Path.of("src/test/resources/contract/examples");
    static final Path SCHEMA_DIR = Path.of("src/main/resources/schemas");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DIGITS = Pattern.compile("-?[0-9]{1,400}");

    /** One example: the index entry it is for, its file under the examples folder, the topic it would come on. */
    record Example(EventSchemas.Entry entry, String name, String topic, byte[] payload) {
        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    /** A broken copy of an example: what was changed, and the payload. */
    record Mutation(String change, byte[] payload) {
    }

    private ContractExamples() {
    }

    /** Every example file, with the entry its path names; an example no entry matches is an error. */
    static List<Example> all(List<EventSchemas.Entry> index) {
        Map<String, EventSchemas.Entry> entries = new HashMap<>();
        for (EventSchemas.Entry entry : index) {
            entries.put(entry.source() + "/" + entry.type(), entry);
        }
        List<Example> examples = new ArrayList<>();
        try (Stream<Path> files = Files.walk(DIR)) {
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                String name = DIR.relativize(file).toString().replace('\\', '/');
                int slash = name.lastIndexOf('/');
                int dot = name.indexOf('.', slash);
                EventSchemas.Entry entry = entries.get(name.substring(0, dot));
                if (entry == null) {
                    throw new IllegalStateException("example " + name + " names no entry of schemas/index.json (<source>/<type>.json)");
                }
                String extension = entry.source().equals("sys") ? ".txt" : ".json";
                if (!name.endsWith(extension)) {
                    throw new IllegalStateException("example " + name + " should end with " + extension);
                }
                byte[] payload = Files.readAllBytes(file);
                examples.add(new Example(entry, name, topic(entry, payload), payload));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return examples;
    }

    /** A topic the payload could come on; only the $SYS checks read it. */
    static String topic(EventSchemas.Entry entry, byte[] payload) {
        return switch (entry.source()) {
            case "gerrit" -> "gerrit/openstack/nova/" + entry.type();
            case "launchpad" -> entry.type().equals("bug") ? "launchpad/nova/bug/2063342" : "launchpad/ubuntu";
            case "subunit" -> "gearman-subunit/ze04/openstack/nova/912347";
            case "zuul" -> "zuul/check/openstack/nova/master/912347";
            case "ansible" -> "ansible/playbook/0f3b5a7c-1d2e-4f60-9a8b-7c6d5e4f3a2b/task";
            case "sys" -> "$SYS/broker/" + entry.type();
            default -> throw new IllegalArgumentException(entry.source());
        };
    }

    /**
     * The broken copies of {@code payload}, which the schema {@code file} selects for it: at every level the schema
     * describes, each required field removed, and each field whose schema restricts its JSON type set to a value of
     * another type. A $SYS text: digits where text is expected, words where a count is.
     */
    static List<Mutation> mutations(String file, byte[] payload) {
        List<Mutation> mutations = new ArrayList<>();
        if (file.startsWith("sys/")) {
            String text = new String(payload, StandardCharsets.UTF_8);
            mutations.add(DIGITS.matcher(text).matches()
                    ? new Mutation("a count as words", (text + " clients").getBytes(StandardCharsets.UTF_8))
                    : new Mutation("text as a count", "86417".getBytes(StandardCharsets.UTF_8)));
            return mutations;
        }
        JsonNode instance;
        try {
            instance = JSON.readTree(payload);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        walk(instance, parts(file, load(file)), "", instance, mutations);
        return mutations;
    }

    /** A schema node and the file it is in (for its relative $refs). */
    record Part(String file, JsonNode schema) {
    }

    /** The schemas that apply together at one place: the node itself, what its $ref names and its allOf items, recursively. */
    static List<Part> parts(String file, JsonNode schema) {
        List<Part> parts = new ArrayList<>();
        collect(file, schema, parts, 0);
        return parts;
    }

    private static void collect(String file, JsonNode schema, List<Part> parts, int depth) {
        if (!schema.isObject() || depth > 20) {
            return;
        }
        parts.add(new Part(file, schema));
        if (schema.path("$ref").isTextual()) {
            String ref = schema.get("$ref").asText();
            int hash = ref.indexOf('#');
            String path = hash < 0 ? ref : ref.substring(0, hash);
            String pointer = hash < 0 ? "" : ref.substring(hash + 1);
            String target = path.isEmpty() ? file : SCHEMA_DIR.relativize(SCHEMA_DIR.resolve(file).resolveSibling(path).normalize())
                    .toString().replace('\\', '/');
            JsonNode resolved = load(target).at(pointer);
            if (resolved.isMissingNode()) {
                throw new IllegalStateException(file + ": $ref " + ref + " resolves to nothing");
            }
            collect(target, resolved, parts, depth + 1);
        }
        for (JsonNode item : schema.path("allOf")) {
            collect(file, item, parts, depth + 1);
        }
    }

    static JsonNode load(String file) {
        try {
            return JSON.readTree(SCHEMA_DIR.resolve(file).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void walk(JsonNode root, List<Part> parts, String at, JsonNode value, List<Mutation> mutations) {
        if (value.isObject()) {
            Set<String> required = new LinkedHashSet<>();
            parts.forEach(part -> part.schema().path("required").forEach(name -> required.add(name.asText())));
            for (String name : required) {
                if (value.has(name)) {
                    String pointer = at + "/" + escape(name);
                    mutations.add(new Mutation("without " + pointer, changed(root, pointer, null)));
                }
            }
            for (Map.Entry<String, JsonNode> field : value.properties()) {
                String pointer = at + "/" + escape(field.getKey());
                List<Part> property = property(parts, field.getKey());
                Set<String> types = types(property);
                if (types != null) {
                    JsonNode wrong = wrongValue(types);
                    mutations.add(new Mutation(pointer + " as " + wrong, changed(root, pointer, wrong)));
                }
                walk(root, property, pointer, field.getValue(), mutations);
            }
        } else if (value.isArray()) {
            List<Part> items = new ArrayList<>();
            parts.forEach(part -> items.addAll(parts(part.file(), part.schema().path("items"))));
            for (int i = 0; i < value.size(); i++) {
                String pointer = at + "/" + i;
                Set<String> types = types(items);
                if (types != null) {
                    JsonNode wrong = wrongValue(types);
                    mutations.add(new Mutation(pointer + " as " + wrong, changed(root, pointer, wrong)));
                }
                walk(root, items, pointer, value.get(i), mutations);
            }
        }
    }

    /** The schemas of property {@code name}: from properties, else a matching patternProperties, else additionalProperties. */
    private static List<Part> property(List<Part> parts, String name) {
        List<Part> found = new ArrayList<>();
        for (Part part : parts) {
            JsonNode schema = part.schema();
            if (schema.path("properties").has(name)) {
                found.addAll(parts(part.file(), schema.path("properties").get(name)));
                continue;
            }
            boolean matched = false;
            for (Map.Entry<String, JsonNode> pattern : schema.path("patternProperties").properties()) {
                if (Pattern.compile(pattern.getKey()).matcher(name).find()) {
                    found.addAll(parts(part.file(), pattern.getValue()));
                    matched = true;
                }
            }
            if (!matched) {
                found.addAll(parts(part.file(), schema.path("additionalProperties")));
            }
        }
        return found;
    }

    /** The JSON types the schemas allow together ("integer" within "number"), or null if they do not restrict them. */
    static Set<String> types(List<Part> parts) {
        Set<String> allowed = null;
        for (Part part : parts) {
            Set<String> own = ownTypes(part);
            if (own != null) {
                if (allowed == null) {
                    allowed = new LinkedHashSet<>(own);
                } else {
                    allowed.retainAll(own);
                }
            }
        }
        return allowed;
    }

    private static Set<String> ownTypes(Part part) {
        JsonNode schema = part.schema();
        Set<String> types = new LinkedHashSet<>();
        if (schema.has("type")) {
            JsonNode type = schema.get("type");
            if (type.isArray()) {
                type.forEach(t -> types.add(t.asText()));
            } else {
                types.add(type.asText());
            }
        } else if (schema.has("const")) {
            types.add(typeOf(schema.get("const")));
        } else if (schema.has("enum")) {
            schema.get("enum").forEach(value -> types.add(typeOf(value)));
        } else if (schema.has("anyOf") || schema.has("oneOf")) {
            for (JsonNode branch : schema.has("anyOf") ? schema.get("anyOf") : schema.get("oneOf")) {
                Set<String> branchTypes = types(parts(part.file(), branch));
                if (branchTypes == null) {
                    return null;
                }
                types.addAll(branchTypes);
            }
        } else {
            return null;
        }
        if (types.contains("number")) {
            types.add("integer");
        }
        return types;
    }

    private static String typeOf(JsonNode value) {
        if (value.isIntegralNumber()) {
            return "integer";
        }
        return switch (value.getNodeType()) {
            case STRING -> "string";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case ARRAY -> "array";
            case OBJECT -> "object";
            default -> "null";
        };
    }

    /** A value of a JSON type none of {@code types} allows. */
    private static JsonNode wrongValue(Set<String> types) {
        JsonNodeFactory nodes = JsonNodeFactory.instance;
        for (JsonNode candidate : List.of(nodes.numberNode(1718351920), nodes.textNode("1718351920"), nodes.booleanNode(true),
                nodes.arrayNode().add("openstack/nova"), nodes.objectNode().put("id", "openstack/nova"), nodes.nullNode())) {
            if (!types.contains(typeOf(candidate))) {
                return candidate;
            }
        }
        throw new IllegalStateException("every JSON type is allowed: " + types);
    }

    /** A copy of {@code root} with the value at {@code pointer} replaced, or removed when {@code value} is null. */
    private static byte[] changed(JsonNode root, String pointer, JsonNode value) {
        JsonNode copy = root.deepCopy();
        int slash = pointer.lastIndexOf('/');
        JsonNode parent = copy.at(pointer.substring(0, slash));
        String last = pointer.substring(slash + 1).replace("~1", "/").replace("~0", "~");
        if (parent instanceof ObjectNode object) {
            if (value == null) {
                object.remove(last);
            } else {
                object.set(last, value);
            }
        } else if (parent instanceof ArrayNode array) {
            if (value == null) {
                array.remove(Integer.parseInt(last));
            } else {
                array.set(Integer.parseInt(last), value);
            }
        } else {
            throw new IllegalStateException("no container at " + pointer);
        }
        try {
            return JSON.writeValueAsBytes(copy);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String escape(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }
}
