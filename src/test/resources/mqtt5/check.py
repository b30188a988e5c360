"""MQTT 5 session expiry, message expiry and request/response, checked with python paho-mqtt (MQTTv5).

Usage: check.py HOST PORT TRANSPORT USER PASSWORD
(TRANSPORT: tcp or websockets; USER/PASSWORD: a publisher account allowed to publish to ansible/#.)
Prints one line per check, "ok <name>" or "FAIL <name>: <why>", and exits 1 when a check failed.
"""
import queue
import sys
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

HOST, PORT, TRANSPORT, USER, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
WAIT = 15
failed = []


class Client:
    """A connected MQTT 5 client that queues what it receives."""

    def __init__(self, client_id, clean_start, session_expiry=None, publisher=False):
        try:
            self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id,
                                 protocol=mqtt.MQTTv5, transport=TRANSPORT)
        except AttributeError:  # paho-mqtt before 2.0
            self.c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5, transport=TRANSPORT)
        if TRANSPORT == "websockets":
            self.c.ws_set_options(path="/mqtt")
        if publisher:
            self.c.username_pw_set(USER, PASSWORD)
        self.received = queue.Queue()
        self.connected = threading.Event()
        self.session_present = None
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda client, userdata, message: self.received.put(message)
        properties = None
        if session_expiry is not None:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = session_expiry
        self.c.connect(HOST, PORT, clean_start=clean_start, properties=properties)
        self.c.loop_start()
        if not self.connected.wait(WAIT):
            raise RuntimeError("no CONNACK for " + client_id)

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        self.session_present = bool(flags.get("session present"))
        self.connected.set()

    def subscribe(self, topic, qos=1, no_local=False):
        done = threading.Event()
        self.c.on_subscribe = lambda *args: done.set()
        self.c.subscribe(topic, options=SubscribeOptions(qos=qos, noLocal=no_local))
        if not done.wait(WAIT):
            raise RuntimeError("no SUBACK for " + topic)

    def publish(self, topic, payload, qos=1, **props):
        properties = Properties(PacketTypes.PUBLISH)
        for name, value in props.items():
            setattr(properties, name, value)
        self.c.publish(topic, payload, qos, properties=properties if props else None).wait_for_publish(WAIT)

    def next(self, timeout=WAIT):
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            return None

    def disconnect(self, session_expiry=None):
        properties = None
        if session_expiry is not None:
            properties = Properties(PacketTypes.DISCONNECT)
            properties.SessionExpiryInterval = session_expiry
        self.c.disconnect(properties=properties)
        self.c.loop_stop()


def check(name, condition, why):
    if condition:
        print("ok " + name)
    else:
        print("FAIL %s: %s" % (name, why))
        failed.append(name)


def new_id(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def session_expiry_0():
    # quick reconnects: the previous connection may still be ending on the server when the client is back
    present = 0
    for _ in range(50):
        cid = new_id("py-expiry0")
        first = Client(cid, clean_start=False, session_expiry=0)
        first.subscribe("ansible/py5/expiry0")
        first.disconnect()
        again = Client(cid, clean_start=False, session_expiry=0)
        present += again.session_present
        again.disconnect()
    check("session-expiry-0", present == 0, "Session Present 1 after a session of interval 0, %d times in 50" % present)


def session_expiry_5():
    early, late = new_id("py-early"), new_id("py-late")
    Client(early, clean_start=True, session_expiry=5).disconnect()
    Client(late, clean_start=True, session_expiry=5).disconnect()
    gone = time.monotonic()
    time.sleep(max(0.0, gone + 2 - time.monotonic()))
    back = Client(early, clean_start=False, session_expiry=5)
    check("session-expiry-5-present-after-2s", back.session_present, "Session Present 0 after 2 s")
    back.disconnect()
    time.sleep(max(0.0, gone + 6 - time.monotonic()))
    too_late = Client(late, clean_start=False, session_expiry=5)
    check("session-expiry-5-gone-after-6s", not too_late.session_present, "Session Present 1 after 6 s")
    too_late.disconnect()


def message_expiry():
    cid = new_id("py-offline")
    subscriber = Client(cid, clean_start=True, session_expiry=60)
    subscriber.subscribe("ansible/py5/expiring/#", qos=2)
    subscriber.disconnect(session_expiry=999999999)
    publisher = Client(new_id("py-pub"), clean_start=True, publisher=True)
    published = time.monotonic()
    for qos in (1, 2):
        for expiry in (1, 6):
            publisher.publish("ansible/py5/expiring/q%d" % qos, "q%d expiry %d" % (qos, expiry), qos,
                              MessageExpiryInterval=expiry)
    publisher.disconnect()
    time.sleep(max(0.0, published + 3 - time.monotonic()))
    back = Client(cid, clean_start=False, session_expiry=60)
    got = []
    while True:
        message = back.next(timeout=WAIT if len(got) < 2 else 0.5)
        if message is None:
            break
        got.append((message.payload.decode(), message.qos, getattr(message.properties, "MessageExpiryInterval", None)))
    back.disconnect()
    payloads = [payload for payload, _, _ in got]
    check("message-expiry-unexpired-delivered", payloads == ["q1 expiry 6", "q2 expiry 6"], "received %r" % (got,))
    check("message-expiry-remaining-interval",
          len(got) == 2 and all(left is not None and 0 < left < 6 for _, _, left in got), "received %r" % (got,))


def request_response():
    a = Client(new_id("py-requester"), clean_start=True, publisher=True)
    b = Client(new_id("py-responder"), clean_start=True, publisher=True)
    a.subscribe("ansible/py5/service", no_local=True)
    a.subscribe("ansible/py5/replies/a")
    b.subscribe("ansible/py5/service", no_local=True)
    a.publish("ansible/py5/service", "what time is it", ResponseTopic="ansible/py5/replies/a", CorrelationData=b"\x01\x00\xff")
    asked = b.next()
    check("request-reaches-b-with-properties",
          asked is not None and asked.payload == b"what time is it"
          and getattr(asked.properties, "ResponseTopic", None) == "ansible/py5/replies/a"
          and getattr(asked.properties, "CorrelationData", None) == b"\x01\x00\xff",
          "received %r" % ((asked and (asked.topic, asked.payload, asked.properties)),))
    if asked is not None:
        b.publish(asked.properties.ResponseTopic, "noon", CorrelationData=asked.properties.CorrelationData)
    answer = a.next()
    check("response-reaches-a",
          answer is not None and answer.topic == "ansible/py5/replies/a" and answer.payload == b"noon"
          and getattr(answer.properties, "CorrelationData", None) == b"\x01\x00\xff",
          "received %r" % ((answer and (answer.topic, answer.payload, answer.properties)),))
    check("no-local", a.next(timeout=0.5) is None and b.next(timeout=0.5) is None, "a client got its own message")
    a.disconnect()
    b.disconnect()


for scenario in (session_expiry_0, message_expiry, request_response, session_expiry_5):
    try:
        scenario()
    except Exception as e:  # a broken scenario fails, the others still run
        check(scenario.__name__, False, repr(e))
sys.exit(1 if failed else 0)
