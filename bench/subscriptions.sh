#!/usr/bin/env bash
# What one client's subscriptions cost, a stop with clients connected, and persistent sessions away (bench/README.md, tenth and eleventh rounds; docs/artemis-changes.md rows 32, 33).
# usage: bench/subscriptions.sh [flood] [stop] [away]   (default: all three, about 11 minutes: the flood without limits
#        takes minutes)
#   flood: one anonymous MQTT 3.1.1 client subscribes to FLOOD_N distinct topics, 100 filters per SUBSCRIBE, each
#          waiting for its SUBACK; then the broker is left alone for 75 s (Artemis' reaper removes topic addresses
#          nobody follows within about a minute). Firehose with its default limits, Firehose with none
#          (max-subscriptions=0, max-subscriptions-per-client=0), Mosquitto 2.0.11: seconds, filters refused, broker RSS,
#          Firehose's heap in use after a full GC, and the broker's CPU seconds over the flood and the 75 s after it.
#   stop:  STOP_N clean-session subscribers (one topic each) connected, then SIGTERM: seconds until Firehose exits,
#          WARN/ERROR lines it logged while stopping.
#   away:  AWAY_N persistent sessions (MQTT 3.1.1, '#' at QoS 1) subscribe and go away, then one publisher sends
#          AWAY_EVENTS events of 1 KiB at QoS 1: Firehose with its default max-queued-messages, Firehose without it
#          (max-queued-messages as large as AWAY_N full backlogs), Mosquitto 2.0.11 with the same backlog per client
#          (max_queued_messages 10000): seconds to publish, whether the broker is still up (Firehose exits on
#          OutOfMemoryError, as bin/firehose makes it), its RSS, Firehose's heap after a full GC.
# FLOOD_N (default 20000), STOP_N (default 10000), AWAY_N (default 1500), AWAY_EVENTS (default 12000);
# FIREHOSE_JAR (default target/firehose.jar, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=("$@"); [ ${#scenarios[@]} -gt 0 ] || scenarios=(flood stop away)
flood_n=${FLOOD_N:-20000}
stop_n=${STOP_N:-10000}
away_n=${AWAY_N:-1500}
away_events=${AWAY_EVENTS:-12000}
firehose_jar=${FIREHOSE_JAR:-target/firehose.jar}
[ -f "$firehose_jar" ] || mvn -q -B package -DskipTests
if ! command -v mosquitto > /dev/null; then
  $( [ "$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto > /dev/null
fi
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true
work=$(mktemp -d /tmp/firehose-subscriptions.XXXXXX)
trap 'pkill -P $$ 2> /dev/null || true' EXIT
PORT=21883

cat > "$work/client.py" <<'PY'
# flood PORT N: one client subscribes to N distinct topics, 100 per SUBSCRIBE; prints "seconds refused"
# hold PORT N: N clean-session clients subscribe to a topic each; prints "held", then waits until all are closed
# away PORT N: N persistent sessions subscribe to '#' at QoS 1 and disconnect; prints "away"
import selectors, socket, sys, time
def s16(b): return len(b).to_bytes(2, 'big') + b
def packet(kind, body):
    n, length = len(body), b''
    while True:
        digit, n = n % 128, n // 128
        length += bytes([digit | (0x80 if n else 0)])
        if not n:
            return bytes([kind]) + length + body
def connect(port, client_id, clean=True):
    s = socket.create_connection(('127.0.0.1', port))
    flags = b'\x02\x00\x00' if clean else b'\x00\x00\x3c'
    s.sendall(packet(0x10, b'\x00\x04MQTT\x04' + flags + s16(client_id.encode())))
    assert s.recv(4)[0] == 0x20
    return s
def read_packet(stream):
    head = stream.read(1)
    if not head:
        raise SystemExit('closed by the broker')
    length, shift = 0, 0
    while True:
        digit = stream.read(1)[0]
        length |= (digit & 0x7f) << shift
        shift += 7
        if not digit & 0x80:
            return stream.read(length)
mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if mode == 'flood':
    s = connect(port, 'flood')
    stream = s.makefile('rb')
    started, refused, packet_id = time.time(), 0, 1
    for first in range(0, n, 100):
        filters = b''.join(s16(b'flood/%d' % i) + b'\x00' for i in range(first, min(n, first + 100)))
        s.sendall(packet(0x82, packet_id.to_bytes(2, 'big') + filters))
        refused += read_packet(stream)[2:].count(0x80)
        packet_id = packet_id % 65535 + 1
    print('%.1f %d' % (time.time() - started, refused), flush=True)
    time.sleep(3600)
elif mode == 'away':
    for i in range(n):
        s = connect(port, 'away-%d' % i, clean=False)
        s.sendall(packet(0x82, b'\x00\x01' + s16(b'#') + b'\x01'))
        assert read_packet(s.makefile('rb'))[2] == 1
        s.sendall(b'\xe0\x00')
        s.close()
    print('away', flush=True)
else:
    sockets = []
    for i in range(n):
        s = connect(port, 'hold-%d' % i)
        s.sendall(packet(0x82, b'\x00\x01' + s16(b'hold/%d' % i) + b'\x00'))
        assert s.recv(5)[0] == 0x90
        sockets.append(s)
    print('held', flush=True)
    selector = selectors.DefaultSelector()
    for s in sockets:
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
    left, deadline = n, time.time() + 300
    while left and time.time() < deadline:
        for key, _ in selector.select(1):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b''
            if not data:
                selector.unregister(key.fileobj)
                key.fileobj.close()
                left -= 1
PY

firehose() { # name, extra -D options...: starts Firehose on $PORT, sets pid
  local name=$1; shift
  java -Xmx768m -Xmn256m -XX:+ExitOnOutOfMemoryError -Dfirehose.broker.host=127.0.0.1 -Dfirehose.broker.mqtt-port=$PORT -Dfirehose.broker.ws-port=0 \
    -Dfirehose.broker.data-dir="$work/$name-data" -Dfirehose.broker.max-connections=19000 -Dcamel.server.enabled=false \
    -Dcamel.management.enabled=false "$@" -jar "$firehose_jar" > "$work/$name.log" 2>&1 &
  pid=$!
  await_port
}
await_port() {
  for _ in $(seq 1 600); do (echo > /dev/tcp/127.0.0.1/$PORT) 2> /dev/null && return 0; sleep 0.1; done
  echo "the broker did not start" >&2; return 1
}
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/"$1"/status; }
cpu() { awk '{printf "%.1f", ($14 + $15) / 100}' /proc/"$1"/stat; }
heap() { jcmd "$1" GC.run > /dev/null; jcmd "$1" GC.heap_info | awk '/garbage-first heap/ {for (i = 1; i <= NF; i++) if ($i == "used") {v = $(i + 1); sub(/K,?/, "", v); printf "%.0f", v / 1024}}'; }
stop() { kill "$1" 2> /dev/null || true; wait "$1" 2> /dev/null || true; }

flood() { # label: runs the flood against the broker $pid
  local label=$1 before after line
  before=$(cpu "$pid")
  python3 "$work/client.py" flood $PORT "$flood_n" > "$work/flood.out" 2>&1 &
  local client=$!
  for _ in $(seq 1 3000); do [ -s "$work/flood.out" ] && break; sleep 0.1; done
  line=$(cat "$work/flood.out")
  local rss_now heap_now=-
  rss_now=$(rss "$pid")
  [ "$label" = mosquitto ] || heap_now=$(heap "$pid")
  sleep 75
  after=$(cpu "$pid")
  kill $client 2> /dev/null || true
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$flood_n" "${line% *}" "${line#* }" "$rss_now" "$heap_now" \
    "$(echo "$after - $before" | bc)"
}

away() { # label, mosquitto_pub options...: sessions go away, events are published, the broker $pid is looked at
  local label=$1; shift
  python3 "$work/client.py" away $PORT "$away_n" > "$work/away.out" 2>&1
  grep -q away "$work/away.out" || { echo "the sessions were not made: $(cat "$work/away.out")" >&2; return 1; }
  local event
  event=$(head -c 1024 /dev/zero | tr '\0' x)
  local started ended
  started=$(date +%s.%N)
  yes "$event" | head -n "$away_events" | timeout 300 mosquitto_pub -h 127.0.0.1 -p $PORT -q 1 -t bench/away -l "$@" 2> /dev/null || true
  ended=$(date +%s.%N)
  sleep 3 # a look at the backlogs (each second)
  if kill -0 "$pid" 2> /dev/null; then
    local heap_now=-
    [ "$label" = mosquitto ] || heap_now=$(heap "$pid")
    printf '| %s | %s | %s | %.1f | yes | %s | %s |\n' "$label" "$away_n" "$away_events" "$(echo "$ended - $started" | bc)" \
      "$(rss "$pid")" "$heap_now"
    stop $pid
  else
    printf '| %s | %s | %s | %.1f | no: %s | - | - |\n' "$label" "$away_n" "$away_events" "$(echo "$ended - $started" | bc)" \
      "$(grep -ho 'OutOfMemoryError.*' "$work"/*.log | head -n 1 || echo exited)"
  fi
}

for s in "${scenarios[@]}"; do
  case $s in
    flood)
      echo "| broker | topics asked | seconds | refused | RSS MiB | heap MiB after GC | CPU s, flood + 75 s |"
      echo "| --- | --- | --- | --- | --- | --- | --- |"
      firehose limits; flood "firehose (limits 100 / 20,000)"; stop $pid
      firehose nolimits -Dfirehose.broker.max-subscriptions=0 -Dfirehose.broker.max-subscriptions-per-client=0
      flood "firehose (no limits)"; stop $pid
      printf 'listener %s 127.0.0.1\nallow_anonymous true\n' $PORT > "$work/mosquitto.conf"
      mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
      pid=$!; await_port; flood mosquitto; stop $pid ;;
    stop)
      firehose stop
      python3 "$work/client.py" hold $PORT "$stop_n" > "$work/hold.out" 2>&1 &
      for _ in $(seq 1 6000); do grep -q held "$work/hold.out" && break; sleep 0.1; done
      lines=$(wc -l < "$work/stop.log")
      started=$(date +%s.%N); stop $pid; ended=$(date +%s.%N)
      echo "stop: $stop_n subscribers connected: Firehose exited $(echo "$ended - $started" | bc | xargs printf '%.1f') s after SIGTERM;" \
        "$(tail -n +$((lines + 1)) "$work/stop.log" | grep -cE ' (WARN|ERROR) ' || true) WARN/ERROR lines while stopping" ;;
    away)
      echo "| broker | sessions away | events | publish s | still up | RSS MiB | heap MiB after GC |"
      echo "| --- | --- | --- | --- | --- | --- | --- |"
      account=("-Dfirehose.publisher[bench].password=benchpw" "-Dfirehose.publisher[bench].topics=bench/#")
      firehose budget "${account[@]}"; away "firehose (max-queued-messages 2,000,000)" -u bench -P benchpw
      firehose nobudget "${account[@]}" -Dfirehose.broker.max-queued-messages=$((away_n * 10000))
      away "firehose (no budget)" -u bench -P benchpw
      printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000\n' $PORT > "$work/mosquitto.conf"
      mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
      pid=$!; await_port; away mosquitto ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
rm -rf "$work"
