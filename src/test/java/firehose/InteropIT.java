package firehose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.eclipse.paho.client.mqttv3.MqttClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The clients users actually run: Debian's mosquitto_sub / mosquitto_pub and python paho-mqtt (README's script). */
class InteropIT {

    private static final String SUB = "/usr/bin/mosquitto_sub";
    private static final String PUB = "/usr/bin/mosquitto_pub";
    private static final String PYTHON = "/usr/bin/python3";
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    static Path data;
    static FirehoseApp app;

    @BeforeAll
    static void start() {
        app = FirehoseApp.builder(data).set("firehose.broker.sys-interval", "1").start();
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    /** A retained message is there whenever the external subscriber gets round to subscribing. */
    private static void retain(String topic, String payload) throws Exception {
        MqttClient publisher = Clients.publisher(app.tcpUrl());
        Clients.publish(publisher, topic, payload, 1, true);
        Clients.close(publisher);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mqttv31", "mqttv311", "mqttv5"})
    void mosquitto_sub_receives_anonymously(String version) throws Exception {
        ExternalTool.require(SUB);
        retain("ansible/interop/" + version, "{\"n\":1}");
        ExternalTool.Result sub = ExternalTool.run(WAIT, SUB, "-h", "127.0.0.1", "-p", String.valueOf(app.port("mqtt")),
                "-V", version, "-t", "ansible/interop/" + version, "-C", "1", "-v", "-W", "15");
        assertEquals(0, sub.exitCode(), sub.err());
        assertEquals("ansible/interop/" + version + " {\"n\":1}", sub.out().strip());
    }

    @Test
    void mosquitto_sub_receives_over_tls_with_cafile() throws Exception {
        ExternalTool.require(SUB);
        retain("ansible/interop/tls", "secure");
        ExternalTool.Result sub = ExternalTool.run(WAIT, SUB, "-h", "localhost", "-p", String.valueOf(app.port("tls")),
                "--cafile", TestTls.certificate().toString(), "-t", "ansible/interop/tls", "-C", "1", "-W", "15");
        assertEquals(0, sub.exitCode(), sub.err());
        assertEquals("secure", sub.out().strip());
    }

    @Test
    void mosquitto_sub_reads_sys_tree_anonymously() {
        ExternalTool.require(SUB);
        ExternalTool.Result sub = ExternalTool.run(WAIT, SUB, "-h", "127.0.0.1", "-p", String.valueOf(app.port("mqtt")),
                "-t", "$SYS/broker/version", "-C", "1", "-W", "15");
        assertEquals(0, sub.exitCode(), sub.err());
        assertTrue(sub.out().startsWith("firehose version"), sub.out());
    }

    @Test
    void mosquitto_pub_with_password_publishes_and_without_is_refused() throws Exception {
        ExternalTool.require(PUB);
        try (Subscriber subscriber = Subscriber.on(app.tcpUrl(), "ansible/pub/#")) {
            // acknowledged as Mosquitto does (MQTT 3.1.1: a plain PUBACK; MQTT 5: reason 0x87), delivered to no one
            ExternalTool.Result anonymous = ExternalTool.run(WAIT, PUB, "-h", "127.0.0.1", "-p", String.valueOf(app.port("mqtt")),
                    "-q", "1", "-t", "ansible/pub/forged", "-m", "forged");
            assertEquals(0, anonymous.exitCode(), anonymous.err());
            ExternalTool.Result anonymous5 = ExternalTool.run(WAIT, PUB, "-h", "127.0.0.1", "-p", String.valueOf(app.port("mqtt")),
                    "-V", "mqttv5", "-q", "1", "-t", "ansible/pub/forged5", "-m", "forged");
            assertTrue(anonymous5.err().toLowerCase().contains("not authori"), anonymous5.out() + anonymous5.err());

            ExternalTool.Result wrong = ExternalTool.run(WAIT, PUB, "-h", "127.0.0.1", "-p", String.valueOf(app.port("mqtt")),
                    "-u", FirehoseApp.PUBLISHER, "-P", "wrong", "-q", "1", "-t", "ansible/pub/wrong", "-m", "x");
            assertNotEquals(0, wrong.exitCode());
            assertTrue(wrong.err().contains("not authorised"), wrong.err());

            ExternalTool.Result ok = ExternalTool.run(WAIT, PUB, "-h", "127.0.0.1", "-p", String.valueOf(app.port("mqtt")),
                    "-u", FirehoseApp.PUBLISHER, "-P", FirehoseApp.PUBLISHER_PASSWORD, "-q", "1",
                    "-t", "ansible/pub/ok", "-m", "{\"ok\":true}");
            assertEquals(0, ok.exitCode(), ok.err());

            Subscriber.Received received = subscriber.next(WAIT);
            assertEquals("ansible/pub/ok", received.topic());
            assertEquals("{\"ok\":true}", received.payload());
            assertNull(subscriber.poll(Duration.ofMillis(200)), "nothing else arrives");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "websockets"})
    void readme_python_subscriber_receives(String transport) throws Exception {
        ExternalTool.require(PYTHON, "-c", "import paho.mqtt.client");
        retain("ansible/python/" + transport, "{\"via\":\"python\"}");
        int port = transport.equals("tcp") ? app.port("mqtt") : app.port("ws");
        ExternalTool.Result script = ExternalTool.run(WAIT, PYTHON, Path.of("examples/subscribe.py").toString(),
                "127.0.0.1", String.valueOf(port), transport, "ansible/python/" + transport, "1");
        assertEquals(0, script.exitCode(), script.err());
        assertEquals("ansible/python/" + transport + " {\"via\":\"python\"}", script.out().strip());
        assertTrue(script.err().contains("Connected with result code 0"), script.err());
    }

    /** The README's event stream reader (Python's standard library): the recorded events after a time, then live ones. */
    @Test
    void readme_python_event_stream_reader_gets_recorded_then_live_events() throws Exception {
        String since = java.time.Instant.now().minusSeconds(1).toString();
        MqttClient publisher = Clients.publisher(app.tcpUrl());
        Clients.publish(publisher, "ansible/pyevents/recorded", "{\"n\":1}", 1, false);
        java.util.concurrent.CompletableFuture<ExternalTool.Result> reader = java.util.concurrent.CompletableFuture.supplyAsync(() ->
                ExternalTool.run(WAIT, PYTHON, Path.of("examples/events.py").toString(), app.httpUrl(), "ansible/pyevents/#", "2", since));
        // the second comes live, or is recorded before the reader connects: either way it follows the first, once
        Clients.publish(publisher, "ansible/pyevents/live", "{\"n\":2}", 1, false);
        Clients.close(publisher);
        ExternalTool.Result script = reader.get();
        assertEquals(0, script.exitCode(), script.err());
        assertEquals(List.of("ansible/pyevents/recorded {\"n\": 1}", "ansible/pyevents/live {\"n\": 2}"), script.out().strip().lines().toList());
    }

    /** MQTT 5 session expiry, message expiry and request/response as python paho-mqtt (MQTTv5) uses them. */
    @ParameterizedTest
    @ValueSource(strings = {"tcp", "websockets"})
    void python_mqtt5_client_gets_session_expiry_message_expiry_and_request_response(String transport) {
        ExternalTool.require(PYTHON, "-c", "import paho.mqtt.client");
        int port = transport.equals("tcp") ? app.port("mqtt") : app.port("ws");
        ExternalTool.Result script = ExternalTool.run(Duration.ofSeconds(90), PYTHON, Path.of("src/test/resources/mqtt5/check.py").toString(),
                "127.0.0.1", String.valueOf(port), transport, FirehoseApp.PUBLISHER, FirehoseApp.PUBLISHER_PASSWORD);
        assertEquals(0, script.exitCode(), script.out() + script.err());
        assertEquals(List.of("ok session-expiry-0", "ok message-expiry-unexpired-delivered", "ok message-expiry-remaining-interval",
                "ok request-reaches-b-with-properties", "ok response-reaches-a", "ok no-local",
                "ok session-expiry-5-present-after-2s", "ok session-expiry-5-gone-after-6s"), script.out().strip().lines().toList());
    }

    @Test
    void python_client_over_websocket_gets_connack_not_authorized_for_a_wrong_password() {
        ExternalTool.require(PYTHON, "-c", "import paho.mqtt.client");
        String code = String.join("\n",
                "import sys, paho.mqtt.client as mqtt",
                "try:",
                "    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, transport='websockets')",
                "except AttributeError:",
                "    c = mqtt.Client(transport='websockets')",
                "c.ws_set_options(path='/mqtt')",
                "c.username_pw_set('ansible', 'wrong')",
                "def on_connect(client, userdata, flags, rc):",
                "    print(rc)",
                "    client.disconnect()",
                "c.on_connect = on_connect",
                "c.connect('127.0.0.1', int(sys.argv[1]))",
                "c.loop_forever()");
        ExternalTool.Result result = ExternalTool.run(WAIT, PYTHON, "-c", code, String.valueOf(app.port("ws")));
        assertEquals("5", result.out().strip(), result.err());
    }
}
