package broker.config;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import javax.security.auth.Subject;

import org.apache.activemq.artemis.core.config.WildcardConfiguration;
import org.apache.activemq.artemis.core.protocol.mqtt.MQTTUtil;
import org.apache.activemq.artemis.core.remoting.impl.invm.InVMConnection;
import org.apache.activemq.artemis.core.security.CheckType;
import org.apache.activemq.artemis.core.security.Role;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.apache.activemq.artemis.spi.core.security.ActiveMQSecurityManager5;
import org.apache.activemq.artemis.spi.core.security.jaas.NoCacheLoginException;
import org.apache.activemq.artemis.spi.core.security.jaas.UserPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may do what on the bus: anyone may subscribe to anything, only named accounts may publish,
 * and each only inside its own topic filters.
 */
public final class BrokerSecurity implements ActiveMQSecurityManager5 {

    private static final Logger LOG = LoggerFactory.getLogger(BrokerSecurity.class);

    /** Principal of clients that connect without a user name; not a valid MQTT user name itself. */
    static final String ANONYMOUS = "<anonymous>";

    private final Map<String, Account> accounts = new LinkedHashMap<>();
    private final WildcardConfiguration wildcards;
    private final Function<RemotingConnection, String> listenerOf;
    private final Set<String> clientListeners;
    private final String internalUser;

    /**
     * {@code listenerOf}: the listener a connection came in on, fixed when the connection was made (null: none of the
     * MQTT listeners); {@code clientListeners}: the names of the listeners clients may use (not the cluster port);
     * {@code internalUser}: the one account that may connect in-VM (the application's own core clients).
     */
    public BrokerSecurity(List<Account> accounts, WildcardConfiguration wildcards, Function<RemotingConnection, String> listenerOf,
                          Collection<String> clientListeners, String internalUser) {
        for (Account account : accounts) {
            if (this.accounts.putIfAbsent(account.name(), account) != null) {
                throw new IllegalArgumentException("account '" + account.name() + "' is configured twice");
            }
        }
        this.wildcards = wildcards;
        this.listenerOf = listenerOf;
        this.clientListeners = Set.copyOf(clientListeners);
        this.internalUser = internalUser;
    }

    /**
     * Artemis asks at a client's CONNECT, and again whenever its cache of the answer (10 s) has expired and the connection
     * publishes or its will is sent: the answer must not depend on anything that changes in between. (It decided by the
     * connection's protocol name, which Artemis turns from {@code MQTT} into {@code MQTT5} at an MQTT 5 CONNECT: 10 s
     * after it connected, an MQTT 5 publisher's next PUBLISH, or its will, was refused as if on the cluster port, with
     * an ERROR for the will, and Artemis cached the refusal: for up to 10 s every connection of that account was refused
     * as a bad user name or password.) A refusal here is never cached (see below).
     */
    @Override
    public Subject authenticate(String user, String password, RemotingConnection connection, String securityDomain)
            throws NoCacheLoginException {
        if (connection != null && connection.getTransportConnection() instanceof InVMConnection) {
            Account internal = internalUser.equals(user) ? accounts.get(user) : null;
            if (internal == null || !internal.passwordMatches(password)) {
                throw new NoCacheLoginException("only the application's own account connects in-VM");
            }
            return subject(user);
        }
        String listener = connection == null ? null : listenerOf.apply(connection);
        if (connection != null && (listener == null || !clientListeners.contains(listener))) {
            // the cluster port speaks Artemis' core protocol, to other nodes only: Artemis lets in the node-to-node
            // user with the right password before asking here, and refuses it with a wrong one itself
            LOG.warn("Refused a {} connection from {} on the cluster port: only other nodes with the cluster password may connect",
                    connection.getProtocolName(), connection.getRemoteAddress());
            // not cached: Artemis caches an answer by user name and password alone, and a refusal cached for this
            // connection's sake refused the same account (or every anonymous client) on the MQTT listeners for 10 s
            throw new NoCacheLoginException("not a client listener");
        }
        if (user == null || user.isEmpty()) {
            return subject(ANONYMOUS);
        }
        Account account = accounts.get(user);
        if (account == null || !account.passwordMatches(password)) {
            return null; // the broker logs the refusal (AMQ222216) and answers CONNACK not-authorized
        }
        return subject(user);
    }

    @Override
    public boolean authorize(Subject subject, Set<Role> roles, CheckType type, String address) {
        String user = subject == null ? null : subject.getPrincipals(UserPrincipal.class).stream()
                .map(UserPrincipal::getName).findFirst().orElse(null);
        if (user == null) {
            return false;
        }
        if (artemisInternal(address)) {
            return false;
        }
        return switch (type) {
            case SEND -> mayPublish(user, address);
            // subscribing, unsubscribing and the broker's own bookkeeping for subscriptions
            // (DELETE_ADDRESS: the last unsubscribe lets an auto-created address go; one still bound is never deleted)
            case CONSUME, CREATE_ADDRESS, DELETE_ADDRESS, CREATE_DURABLE_QUEUE, DELETE_DURABLE_QUEUE,
                 CREATE_NON_DURABLE_QUEUE, DELETE_NON_DURABLE_QUEUE, BROWSE, VIEW -> true;
            default -> false;
        };
    }

    /**
     * Artemis keeps MQTT session state (client ids and their subscriptions) and retained messages under
     * {@code $sys.mqtt.*}; a client subscribing to {@code $sys/#} would read other clients' sessions.
     * The broker itself reaches them without these checks. ({@code $SYS/...}, upper case, is the public tree.)
     */
    static boolean artemisInternal(String address) {
        return address.equals("$sys") || address.startsWith("$sys.");
    }

    private boolean mayPublish(String user, String address) {
        Account account = accounts.get(user);
        if (account == null) {
            return false;
        }
        String topic = MQTTUtil.getMqttTopicFromCoreAddress(address, wildcards);
        boolean allowed = account.mayPublish(topic);
        if (!allowed) {
            LOG.warn("Refused publish by '{}' to '{}': outside {}", user, topic, account.topics());
        }
        return allowed;
    }

    /** Whether {@code user} (null: anonymous) may publish to an MQTT topic, without a word (a CONNECT's will). */
    public boolean mayPublishTopic(String user, String topic) {
        Account account = user == null ? null : accounts.get(user);
        return account != null && account.mayPublish(topic);
    }

    @Override
    public boolean validateUser(String user, String password) {
        throw new UnsupportedOperationException("the broker calls authenticate()");
    }

    @Override
    public boolean validateUserAndRole(String user, String password, Set<Role> roles, CheckType checkType) {
        throw new UnsupportedOperationException("the broker calls authorize()");
    }

    private static Subject subject(String name) {
        Subject subject = new Subject();
        subject.getPrincipals().add(new UserPrincipal(name));
        return subject;
    }
}
