package contract;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The payload schemas as {@code components.schemas} of the AsyncAPI document: each file under {@code schemas/} (and
 * every file its {@code $ref}s reach, such as {@code gerrit/common.json}) once, under a key made from its path
 * ({@code gerrit/patchset-created.json} -> {@code gerrit.patchset-created}), keywords and values as in the file but for
 * two rewrites that keep their meaning under JSON Schema 2020-12:
 * <ul>
 * <li>a relative {@code $ref} ({@code common.json#/$defs/account}, {@code #/$defs/x}) points at the same schema inside
 * the document ({@code #/components/schemas/gerrit.common/$defs/account}): AsyncAPI tools resolve a reference against the
 * document, not against the file it came from;</li>
 * <li>a {@code $ref} beside other keywords becomes {@code allOf: [{$ref}]} beside them. In 2020-12 both mean the same
 * (the reference applies together with its siblings), but AsyncAPI's parser resolves a {@code $ref} as draft-07 does,
 * replacing the whole object, which would drop every property a Gerrit type adds to {@code event.json}.</li>
 * </ul>
 * A file's {@code $id}, if any, is left out: it would make 2020-12 tools resolve the rewritten references against it.
 */
final class SchemaBundle {

    static final String POINTER = "#/components/schemas/";

    private final ObjectMapper json;
    private final Function<String, Optional<byte[]>> files;
    private final Map<String, ObjectNode> bundled = new LinkedHashMap<>();

    private SchemaBundle(ObjectMapper json, Function<String, Optional<byte[]>> files) {
        this.json = json;
        this.files = files;
    }

    /** The bundled schemas of {@code roots} and of the files they refer to, key to schema, roots first in their order. */
    static Map<String, ObjectNode> of(ObjectMapper json, Iterable<String> roots, Function<String, Optional<byte[]>> files) {
        SchemaBundle bundle = new SchemaBundle(json, files);
        Deque<String> pending = new ArrayDeque<>();
        roots.forEach(pending::add);
        while (!pending.isEmpty()) {
            String file = pending.removeFirst();
            if (!bundle.bundled.containsKey(key(file))) {
                bundle.add(file, pending);
            }
        }
        return bundle.bundled;
    }

    /** {@code gerrit/patchset-created.json} -> {@code gerrit.patchset-created}; also a message's key. */
    static String key(String file) {
        return file.replaceFirst("\\.json$", "").replace('/', '.');
    }

    private void add(String file, Deque<String> pending) {
        byte[] bytes = files.apply(file).orElseThrow(() -> new IllegalStateException("no schema file " + file));
        JsonNode schema;
        try {
            schema = json.readTree(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("schema file " + file + " is not JSON", e);
        }
        if (!schema.isObject()) {
            throw new IllegalStateException("schema file " + file + " is not a JSON object");
        }
        ObjectNode copy = (ObjectNode) schema;
        copy.remove("$id");
        bundled.put(key(file), copy);
        rewrite(copy, file, pending);
    }

    private void rewrite(JsonNode node, String file, Deque<String> pending) {
        if (node.isArray()) {
            node.forEach(item -> rewrite(item, file, pending));
            return;
        }
        if (!node.isObject()) {
            return;
        }
        ObjectNode object = (ObjectNode) node;
        // (a reference already rewritten is met again inside the allOf made for it)
        if (object.path("$ref").isTextual() && !object.get("$ref").asText().startsWith(POINTER)) {
            String target = target(object.get("$ref").asText(), file, pending);
            if (object.size() == 1) {
                object.put("$ref", target);
            } else {
                applyTogether(object, target);
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> fields = object.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            // const, enum, default and examples hold instances, not schemas: a "$ref" there is data
            if (!field.getKey().equals("const") && !field.getKey().equals("enum") && !field.getKey().equals("default")
                    && !field.getKey().equals("examples")) {
                rewrite(field.getValue(), file, pending);
            }
        }
    }

    /** {@code {$ref: X, k: v}} -> {@code {allOf: [{$ref: X}, ...], k: v}}, the reference first where it stood. */
    private void applyTogether(ObjectNode object, String target) {
        ObjectNode reference = json.createObjectNode().put("$ref", target);
        ArrayNode allOf = json.createArrayNode().add(reference);
        if (object.get("allOf") instanceof ArrayNode existing) {
            allOf.addAll(existing);
        }
        ObjectNode rest = object.deepCopy();
        rest.remove("$ref");
        rest.remove("allOf");
        object.removeAll();
        object.set("allOf", allOf);
        object.setAll(rest);
    }

    /** A reference from {@code file} as a pointer into the document; the file it names is queued for bundling. */
    private String target(String ref, String file, Deque<String> pending) {
        int hash = ref.indexOf('#');
        String path = hash < 0 ? ref : ref.substring(0, hash);
        String fragment = hash < 0 ? "" : ref.substring(hash + 1);
        if (path.contains(":")) {
            throw new IllegalStateException(file + ": only relative references can be bundled, not " + ref);
        }
        if (!fragment.isEmpty() && !fragment.startsWith("/")) {
            throw new IllegalStateException(file + ": only JSON pointer fragments can be bundled, not " + ref);
        }
        String resolved = path.isEmpty() ? file : resolve(file, path);
        if (!path.isEmpty()) {
            pending.add(resolved);
        }
        return POINTER + key(resolved) + fragment;
    }

    /** {@code path} relative to the folder of {@code file}, both under {@code schemas/}. */
    static String resolve(String file, String path) {
        Deque<String> parts = new ArrayDeque<>();
        int slash = file.lastIndexOf('/');
        if (slash > 0 && !path.startsWith("/")) {
            for (String part : file.substring(0, slash).split("/")) {
                parts.addLast(part);
            }
        }
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (parts.isEmpty()) {
                    throw new IllegalStateException(file + ": reference " + path + " leaves schemas/");
                }
                parts.removeLast();
            } else {
                parts.addLast(part);
            }
        }
        return String.join("/", parts);
    }
}
