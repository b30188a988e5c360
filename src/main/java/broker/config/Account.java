package broker.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A named MQTT account that may publish inside its topic filters. */
public record Account(String name, String password, List<TopicFilter> topics) {

    public Account {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("an account needs a name");
        }
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("account '" + name + "' has no password");
        }
        topics = List.copyOf(topics);
    }

    private static final Pattern PUBLISHER_KEY = Pattern.compile("firehose\\.publisher\\[([^\\]]+)]\\..*");

    /**
     * The publisher accounts configured as {@code firehose.publisher[<name>].password} and
     * {@code firehose.publisher[<name>].topics} (comma-separated MQTT topic filters).
     */
    public static List<Account> publishers(Iterable<String> keys, Function<String, Optional<String>> property) {
        TreeSet<String> names = new TreeSet<>();
        for (String key : keys) {
            Matcher m = PUBLISHER_KEY.matcher(key);
            if (m.matches()) {
                names.add(m.group(1));
            }
        }
        List<Account> accounts = new ArrayList<>();
        for (String name : names) {
            String prefix = "firehose.publisher[" + name + "].";
            String password = Secret.resolve(property.apply(prefix + "password").map(String::trim).orElse(""));
            String topics = property.apply(prefix + "topics").map(String::trim).orElse("");
            if (password.isEmpty()) {
                throw new IllegalArgumentException(prefix + "password is empty");
            }
            if (topics.isEmpty()) {
                throw new IllegalArgumentException(prefix + "topics is empty: publisher '" + name + "' could publish nowhere");
            }
            accounts.add(new Account(name, password, Arrays.stream(topics.split(","))
                    .filter(t -> !t.isBlank()).map(TopicFilter::of).toList()));
        }
        return accounts;
    }

    public boolean passwordMatches(String given) {
        return given != null && MessageDigest.isEqual(
                password.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
    }

    public boolean mayPublish(String topic) {
        return topics.stream().anyMatch(filter -> filter.matches(topic));
    }

    @Override
    public String toString() {
        return "Account[" + name + " -> " + topics + "]";
    }
}
