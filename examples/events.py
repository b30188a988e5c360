#!/usr/bin/env python3
"""Print Firehose events from GET /events (Server-Sent Events): the ones after a cursor, then the live ones.
After a disconnect it reconnects with the last id it printed (Last-Event-ID), so it misses none and repeats none.

usage: events.py [BASE_URL] [TOPIC] [COUNT] [SINCE]
       events.py http://firehose.example.org:8080 'gerrit/#'
       events.py http://localhost:8080 'gerrit/#' 10 2026-12-06T12:00:00Z
COUNT stops after that many events (default: run forever); SINCE starts from a time instead of now.
Python's standard library only.
"""
import json
import sys
import time
import urllib.parse
import urllib.request

base = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://localhost:8080"
topic = sys.argv[2] if len(sys.argv) > 2 else "#"
count = int(sys.argv[3]) if len(sys.argv) > 3 else 0
since = sys.argv[4] if len(sys.argv) > 4 else None
last_id = None
received = 0

while True:
    params = {"topic": topic}
    if since and not last_id:
        params["since"] = since
    headers = {"Accept": "text/event-stream"}
    if last_id:
        headers["Last-Event-ID"] = last_id
    url = base + "/events?" + urllib.parse.urlencode(params, safe="/+")
    try:
        # a keep-alive comment comes every 15 s: a minute of silence is a dead connection
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as stream:
            event_id, data = None, []
            for raw in stream:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:  # the end of one message
                    if data:
                        event = json.loads("\n".join(data))
                        last_id = event_id or last_id
                        print(event["topic"], json.dumps(event["payload"]), flush=True)
                        received += 1
                        if count and received >= count:
                            sys.exit(0)
                    event_id, data = None, []
                elif not line.startswith(":"):  # ':' starts a comment (keep-alive)
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "id":
                        event_id = value
                    elif field == "data":
                        data.append(value)
    except (OSError, ValueError) as error:
        print("disconnected (" + str(error) + "), reconnecting", file=sys.stderr, flush=True)
        time.sleep(2)
