package broker.observe;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/** DOWN until the broker is active and every listener accepts connections. */
public final class BrokerHealthCheck extends AbstractHealthCheck {

    private final BrokerView broker;

    public BrokerHealthCheck(BrokerView broker) {
        super("firehose", "broker");
        this.broker = broker;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        if (broker.accepting()) {
            builder.up();
        } else {
            builder.message("the broker is not accepting connections").down();
        }
    }
}
