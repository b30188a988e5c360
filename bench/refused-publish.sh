#!/usr/bin/env bash
# What refused publishes cost the broker against allowed ones: one client publishes N QoS 0 messages flat out, then one
# at QoS 1 (whose acknowledgement says the broker has read them all), as an account inside its topics (allowed), as an
# anonymous client and as an account outside its topics (both refused and acknowledged, never delivered). Alternating,
# ROUNDS times; broker CPU seconds (utime+stime of its process) and RSS before and after each run.
# usage: bench/refused-publish.sh        N (default 200000), ROUNDS (default 2); Firehose through bin/firehose (the
#        README's run command) on ports of its own, with a data directory under /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}
ROUNDS=${ROUNDS:-2}
[ -f target/firehose.jar ] || mvn -q -B package -DskipTests
work=$(mktemp -d /tmp/firehose-refused.XXXXXX)
mqtt=$((20000 + RANDOM % 10000)); http=$((mqtt + 1)); mgmt=$((mqtt + 2)); ws=$((mqtt + 3))
JAVA_OPTS="-Dfirehose.broker.mqtt-port=$mqtt -Dfirehose.broker.ws-port=$ws -Dcamel.server.port=$http \
 -Dcamel.management.port=$mgmt -Dfirehose.broker.data-dir=$work/data -Dfirehose.subunit.inbox=$work/inbox \
 -Dfirehose.publisher[bench].password=benchpw -Dfirehose.publisher[bench].topics=bench/#" \
  bin/firehose > "$work/firehose.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 120); do
  curl -fs "http://127.0.0.1:$mgmt/observe/health" > /dev/null 2>&1 && break
  sleep 0.5
done
jpid=$(pgrep -P $pid java || echo $pid)
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$jpid/stat"; }
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$jpid/status"; }
run() { # user password topic
  /usr/bin/python3 - "$mqtt" "$N" "$1" "$2" "$3" <<'PY'
import sys, time
import paho.mqtt.client as mqtt
port, n, user, password, topic = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
c = mqtt.Client(client_id="", clean_session=True)
if user:
    c.username_pw_set(user, password)
c.connect("127.0.0.1", port)
c.loop_start()
payload = b"x" * 100
start = time.monotonic()
for i in range(n):
    while c.publish(topic, payload, qos=0).rc != 0:
        time.sleep(0.001)
info = c.publish(topic, payload, qos=1)
info.wait_for_publish(120)
print("%.2f %s" % (time.monotonic() - start, "acked" if info.is_published() else "NOT ACKED"))
c.loop_stop(); c.disconnect()
PY
}
printf '| round | case | seconds for %s | broker CPU s | RSS MiB before → after |\n| --- | --- | --- | --- | --- |\n' "$N"
for round in $(seq "$ROUNDS"); do
  for case in allowed anonymous outside; do
    case $case in
      allowed) args=(bench benchpw bench/x) ;;
      anonymous) args=("" "" bench/x) ;;
      outside) args=(bench benchpw other/x) ;;
    esac
    c0=$(cpu); r0=$(rss)
    took=$(run "${args[@]}")
    c1=$(cpu); r1=$(rss)
    printf '| %s | %s | %s | %.1f | %s → %s |\n' "$round" "$case" "$took" "$(echo "$c1 - $c0" | bc)" "$r0" "$r1"
  done
done
curl -fs "http://127.0.0.1:$mgmt/observe/metrics" | grep '^firehose_broker_publishes_refused_total' || true
grep -c 'Refused\|refused' "$work/firehose.log" | sed 's/^/log lines mentioning refusals: /'
