#!/usr/bin/env bash
# The catch-up stream (GET /events, Server-Sent Events) against MQTT on one node (bench/README.md, "Catch-up stream").
# usage: bench/events.sh        STREAMS (default 1000) /events?topic=bench/%23 streams on plain sockets, SUBSCRIBERS
#        (default 1000) MQTT QoS 0 subscribers to bench/#, then RATE (default 20) events/s of SIZE (default 1024) bytes at
#        QoS 1 for DURATION seconds (default 30), after a WARMUP (default 3 s): per path deliveries, lost, latency p50/p99/max; the
#        broker's RSS and heap in use (metrics, no GC forced) before the streams open and once they are open and idle
#        (IDLE seconds, default 5). Firehose through bin/firehose (the README's run command) on ports of its own, with a
#        data directory under /tmp; firehose.events.max-streams raised to STREAMS when above its default of 1,000.
#        About a minute and a half.
set -euo pipefail
cd "$(dirname "$0")/.."
STREAMS=${STREAMS:-1000}
[ -f target/firehose.jar ] || mvn -q -B package -DskipTests
mkdir -p target/bench-classes
javac -d target/bench-classes bench/java/bench/NioSubscribers.java bench/java/bench/Load.java bench/java/bench/EventStreams.java
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true
work=$(mktemp -d /tmp/firehose-events.XXXXXX)
mqtt=$((20000 + RANDOM % 10000)); http=$((mqtt + 1)); mgmt=$((mqtt + 2)); ws=$((mqtt + 3))
for port in $mqtt $http $mgmt $ws; do
  if (echo > /dev/tcp/127.0.0.1/$port) 2> /dev/null; then echo "port $port is in use; run again" >&2; rm -rf "$work"; exit 1; fi
done
JAVA_OPTS="-Dfirehose.broker.host=127.0.0.1 -Dfirehose.broker.mqtt-port=$mqtt -Dfirehose.broker.ws-port=$ws \
 -Dcamel.server.host=127.0.0.1 -Dcamel.server.port=$http -Dcamel.management.port=$mgmt -Dfirehose.broker.data-dir=$work/data \
 -Dfirehose.subunit.inbox=$work/inbox -Dfirehose.events.max-streams=$((STREAMS > 1000 ? STREAMS : 1000)) \
 -Dfirehose.broker.max-connections=19000 \
 -Dfirehose.publisher[bench].password=benchpw -Dfirehose.publisher[bench].topics=bench/#" \
  bin/firehose > "$work/firehose.log" 2>&1 &
pid=$!
trap 'kill $pid 2> /dev/null || true; wait $pid 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 120); do
  curl -fs "http://127.0.0.1:$mgmt/observe/health" > /dev/null 2>&1 && break
  kill -0 $pid 2> /dev/null || { echo "Firehose exited:"; tail -n 20 "$work/firehose.log"; exit 1; } >&2
  sleep 0.5
done
jpid=$(pgrep -P $pid java || echo $pid)
sleep 5 # the start's own work (JIT, first GCs) settles before the first RSS
echo "machine: $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2 " GiB"}'), $(java -version 2>&1 | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M UTC')"
java -Xss512k -cp target/bench-classes bench.EventStreams --http-port $http --mqtt-port $mqtt --management-port $mgmt \
  --broker-pid "$jpid" --streams "$STREAMS" --subscribers "${SUBSCRIBERS:-1000}" --rate "${RATE:-20}" --seconds "${DURATION:-30}" \
  --warmup "${WARMUP:-3}" --idle "${IDLE:-5}" --size "${SIZE:-1024}" --user bench --password benchpw | tee "$work/out.txt"
/usr/bin/python3 - "$work/out.txt" <<'PY'
import json, sys
r = next(json.loads(l[7:]) for l in open(sys.argv[1]) if l.startswith("RESULT "))
print()
print("| path | readers | events | deliveries | lost | p50 ms | p99 ms | max ms |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for name, label, n in (("sse", "`GET /events` streams", r["streams_open"]), ("mqtt", "MQTT QoS 0 subscribers", r["subscribers"])):
    print(f"| {label} | {n:,} | {r['published']:,} | {r[name + '_deliveries']:,} | {r[name + '_lost']:,} | "
          f"{r[name + '_p50_ms']:.2f} | {r[name + '_p99_ms']:.2f} | {r[name + '_max_ms']:.2f} |")
print()
print("| broker | RSS MiB | heap in use MiB (no GC forced) |")
print("| --- | --- | --- |")
print(f"| before the streams | {r['rss_before_mib']:.0f} | {r['heap_before_mib']:.0f} |")
print(f"| {r['streams_open']:,} streams open, idle | {r['rss_streams_open_mib']:.0f} | {r['heap_streams_open_mib']:.0f} |")
print(f"| per stream | {r['rss_per_stream_kib']:.1f} KiB | {r['heap_per_stream_kib']:.1f} KiB |")
print(f"| after the run (peak) | {r.get('broker_rss_end_mib', 0):.0f} ({r.get('broker_peak_rss_mib', 0):.0f}) | |")
PY
echo "WARN/ERROR lines in the broker's log: $(grep -cE ' (WARN|ERROR) ' "$work/firehose.log" || true)"
