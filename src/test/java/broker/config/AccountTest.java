package broker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccountTest {

    @TempDir
    Path dir;

    private static List<Account> publishers(Map<String, String> properties) {
        return Account.publishers(properties.keySet(), key -> Optional.ofNullable(properties.get(key)));
    }

    @Test
    void publishers_are_read_from_bracketed_blocks_with_several_filters() {
        List<Account> accounts = publishers(Map.of(
                "firehose.publisher[ansible].password", "a",
                "firehose.publisher[ansible].topics", "ansible/#",
                "firehose.publisher[zuul].password", "z",
                "firehose.publisher[zuul].topics", "zuul/#, ci/+/results",
                "firehose.broker.mqtt-port", "1883"));
        assertEquals(List.of("ansible", "zuul"), accounts.stream().map(Account::name).toList());
        Account zuul = accounts.get(1);
        assertTrue(zuul.mayPublish("ci/nova/results"));
        assertTrue(zuul.mayPublish("zuul/gate/nova"));
        assertFalse(zuul.mayPublish("ansible/x"));
        assertTrue(zuul.passwordMatches("z"));
        assertFalse(zuul.passwordMatches("a"));
        assertFalse(zuul.passwordMatches(null));
    }

    @Test
    void password_from_a_file_is_stripped_of_its_newline() throws Exception {
        Path file = dir.resolve("pw");
        Files.writeString(file, "from-file\n");
        List<Account> accounts = publishers(Map.of(
                "firehose.publisher[zuul].password", "file:" + file,
                "firehose.publisher[zuul].topics", "zuul/#"));
        assertTrue(accounts.get(0).passwordMatches("from-file"));
    }

    @Test
    void password_from_the_environment() {
        String variable = System.getenv().keySet().stream().filter(k -> !System.getenv(k).isBlank()).findFirst().orElseThrow();
        List<Account> accounts = publishers(Map.of(
                "firehose.publisher[env].password", "env:" + variable,
                "firehose.publisher[env].topics", "env/#"));
        assertTrue(accounts.get(0).passwordMatches(System.getenv(variable).strip()));
        assertThrows(IllegalArgumentException.class, () -> publishers(Map.of(
                "firehose.publisher[env].password", "env:FIREHOSE_SURELY_UNSET_VARIABLE",
                "firehose.publisher[env].topics", "env/#")));
    }

    @Test
    void an_account_without_password_or_topics_is_a_configuration_error() {
        IllegalArgumentException noPassword = assertThrows(IllegalArgumentException.class,
                () -> publishers(Map.of("firehose.publisher[x].topics", "x/#")));
        assertTrue(noPassword.getMessage().contains("firehose.publisher[x].password"), noPassword.getMessage());
        assertThrows(IllegalArgumentException.class, () -> publishers(Map.of("firehose.publisher[x].password", "p")));
        assertThrows(IllegalArgumentException.class, () -> publishers(Map.of(
                "firehose.publisher[x].password", "p", "firehose.publisher[x].topics", "x/#/y")));
    }

    @Test
    void the_password_is_not_in_its_text_form() {
        Account account = new Account("ansible", "hunter2-secret", List.of(TopicFilter.of("ansible/#")));
        assertFalse(account.toString().contains("hunter2-secret"));
    }
}
