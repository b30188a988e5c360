#!/usr/bin/env python3
"""Print Firehose events as they arrive.

usage: subscribe.py [HOST] [PORT] [tcp|websockets] [TOPIC] [COUNT]
       subscribe.py firehose.example.org 1883 tcp '#'
       subscribe.py firehose.example.org 80 websockets 'gerrit/#'
COUNT stops after that many messages (default: run forever).
"""
import sys

import paho.mqtt.client as mqtt

host = sys.argv[1] if len(sys.argv) > 1 else "localhost"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 1883
transport = sys.argv[3] if len(sys.argv) > 3 else "tcp"
topic = sys.argv[4] if len(sys.argv) > 4 else "#"
count = int(sys.argv[5]) if len(sys.argv) > 5 else 0
received = 0


def on_connect(client, userdata, flags, rc):
    print("Connected with result code " + str(rc), file=sys.stderr, flush=True)
    client.subscribe(topic)


def on_message(client, userdata, msg):
    global received
    print(msg.topic + " " + msg.payload.decode("utf-8", "replace"), flush=True)
    received += 1
    if count and received >= count:
        client.disconnect()


try:  # paho-mqtt 2.x asks which callback style the script uses
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, transport=transport)
except AttributeError:  # paho-mqtt 1.x (Debian 12)
    client = mqtt.Client(transport=transport)
if transport == "websockets":
    client.ws_set_options(path="/mqtt")
client.on_connect = on_connect
client.on_message = on_message
client.connect(host, port, 60)
client.loop_forever()
