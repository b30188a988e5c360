package history;

/** One recorded event: its id, MQTT topic, the time it was received (ms since the epoch) and its exact payload. */
public record Event(String id, String topic, long received, byte[] payload) {
}
