#!/usr/bin/env bash
# Firehose against Debian's Mosquitto 2.0.11 on this machine, same scenarios, alternating (the fan-out comparison and the reconnect storms).
# usage: bench/vs-mosquitto.sh [a] [b] [c] [d] [s] [p]...   (default: a b c d, about 12 minutes; a scenario given
#        several times runs that often, alternating brokers, and the table shows medians)
#   a: 1 publisher -> 1,000 subscribers, QoS 0, 1 KiB, flat out        (deliveries/s)
#   b: 1 publisher -> 1,000 subscribers, QoS 0, 1 KiB, 20 msg/s         (latency)
#   c: 10,000 subscribers (half WebSocket), 2 msg/s, QoS 0, 1 KiB       (loss, broker RSS)
#   d: start-up, from launching the broker to all its listeners accepting (median of 5)
#   s: reconnect storm, sequential: N MQTT 3.1.1 clients (TCP) connect and subscribe one after another, each waiting
#      for its CONNACK and SUBACK; then 2 msg/s for 20 s; then half of them drop off at once (disconnect storm); then
#      those connect and subscribe again the same way (a network blip's storm, on a broker that has been running)
#   p: the same, 50 clients at a time, half of them over WebSocket
#   (each storm also prints its cost per client for every 250 clients: a cold JVM's first clients, any growth with N)
# STORM_N: the client counts of s and p (default: 2000 10000 18000; a process here may hold 20,000 open files).
# FIREHOSE_JAVA_OPTS: JVM options of Firehose's command (default: -Xmx768m -Xmn256m, as the README's run command has it).
# FIREHOSE_JAVA: the java command Firehose runs on (default: java, the load tools' too), e.g. another JDK's.
# FIREHOSE_JAR: the jar to measure (default: target/firehose.jar, built if missing), e.g. an older build to compare.
# FIREHOSE_LAUNCHER=1: start Firehose with the README's run command, bin/firehose (with FIREHOSE_JAVA and FIREHOSE_AOT
#   as it reads them), instead of java with FIREHOSE_JAVA_OPTS.
# BROKERS: which brokers to run (default: firehose mosquitto).
# WARMUP: seconds of load before a, b, c measure (default 5), the same for both brokers.
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=("$@"); [ ${#scenarios[@]} -gt 0 ] || scenarios=(a b c d)
warmup=${WARMUP:-5}

if ! command -v mosquitto > /dev/null; then
  $( [ "$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto > /dev/null
fi
firehose_jar=${FIREHOSE_JAR:-target/firehose.jar}
[ -f "$firehose_jar" ] || mvn -q -B package -DskipTests
mkdir -p target/bench-classes
javac -d target/bench-classes bench/java/bench/NioSubscribers.java bench/java/bench/Load.java bench/java/bench/Startup.java \
  bench/java/bench/Storm.java
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

work=$(mktemp -d /tmp/firehose-vs-mosquitto.XXXXXX)
results="$work/results.txt"
trap 'pkill -P $$ 2> /dev/null || true; kill $(cat "$work"/*.pid 2> /dev/null) 2> /dev/null || true' EXIT
# all below the ephemeral port range (32768-60999 here): a storm's 18,000 client sockets could hold one otherwise
FH_MQTT=21883 FH_WS=29001 MQ_MQTT=31883 MQ_WS=31901
load=(java -Xss512k -cp target/bench-classes bench.Load --user bench --password benchpw)
storm=(java -Xss512k -cp target/bench-classes bench.Storm --user bench --password benchpw --rate 2 --seconds 20)
storm_n=(${STORM_N:-2000 10000 18000})

# Mosquitto: anonymous read, one password publisher confined to bench/#, the same backlog bound as Firehose's
mkdir -p "$work/mosquitto"
: > "$work/mosquitto/passwd"
mosquitto_passwd -b "$work/mosquitto/passwd" bench benchpw
printf 'topic read #\ntopic read $SYS/#\nuser bench\ntopic readwrite bench/#\n' > "$work/mosquitto/acl"
cat > "$work/mosquitto/mosquitto.conf" <<CONF
per_listener_settings false
allow_anonymous true
password_file $work/mosquitto/passwd
acl_file $work/mosquitto/acl
max_queued_messages 10000
log_dest stdout
listener $MQ_MQTT 127.0.0.1
listener $MQ_WS 127.0.0.1
protocol websockets
CONF
if id mosquitto > /dev/null 2>&1; then chown -R mosquitto "$work/mosquitto"; chmod 755 "$work"; fi
mosquitto_cmd=(mosquitto -c "$work/mosquitto/mosquitto.conf")
firehose_props=(-Dfirehose.broker.host=127.0.0.1 -Dfirehose.broker.mqtt-port=$FH_MQTT
  -Dfirehose.broker.ws-port=$FH_WS -Dfirehose.broker.data-dir="$work/firehose-data" -Dfirehose.broker.max-connections=19000 -Dcamel.server.port=28080
  -Dcamel.management.port=29876 "-Dfirehose.publisher[bench].password=benchpw" "-Dfirehose.publisher[bench].topics=bench/#")
if [ "${FIREHOSE_LAUNCHER:-}" = 1 ]; then
  # the README's run command: bin/firehose, its JVM options (FIREHOSE_JAVA_OPTS adds to them) and, on Java 25, the AOT
  # cache beside the jar when it matches (FIREHOSE_AOT=off: none); it execs the JVM, so $pid is the JVM's
  firehose_cmd=(env FIREHOSE_JAVA="${FIREHOSE_JAVA:-java}" FIREHOSE_JAR="$firehose_jar" JAVA_OPTS="${FIREHOSE_JAVA_OPTS:-} ${firehose_props[*]}"
    bin/firehose)
else
  firehose_cmd=(${FIREHOSE_JAVA:-java} ${FIREHOSE_JAVA_OPTS--Xmx768m -Xmn256m} "${firehose_props[@]}" -jar "$firehose_jar")
fi

wait_port() { for _ in $(seq 1 600); do (echo > /dev/tcp/127.0.0.1/"$1") 2> /dev/null && return 0; sleep 0.1; done; echo "port $1 not open" >&2; return 1; }
start() { # broker -> sets pid
  if [ "$1" = firehose ]; then
    "${firehose_cmd[@]}" >> "$work/firehose.log" 2>&1 & pid=$!; wait_port $FH_MQTT; wait_port $FH_WS
  else
    "${mosquitto_cmd[@]}" >> "$work/mosquitto.log" 2>&1 & pid=$!; wait_port $MQ_MQTT; wait_port $MQ_WS
  fi
  echo $pid > "$work/$1.pid"
}
stop() { kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; rm -f "$work"/*.pid; }
ports() { if [ "$1" = firehose ]; then echo "--port $FH_MQTT --ws-port $FH_WS"; else echo "--port $MQ_MQTT --ws-port $MQ_WS"; fi; }

for s in "${scenarios[@]}"; do
  for broker in ${BROKERS:-firehose mosquitto}; do
    echo "== scenario $s: $broker"
    case $s in
      a) start $broker; "${load[@]}" $(ports $broker) --broker-pid $pid --label "a:$broker" --subscribers 1000 --publishers 1 \
           --rate 0 --seconds 20 --warmup "$warmup" --size 1024 --qos 0 | tee -a "$results"; stop ;;
      b) start $broker; "${load[@]}" $(ports $broker) --broker-pid $pid --label "b:$broker" --subscribers 1000 --publishers 1 \
           --rate 20 --seconds 30 --warmup "$warmup" --size 1024 --qos 0 | tee -a "$results"; stop ;;
      c) start $broker; "${load[@]}" $(ports $broker) --broker-pid $pid --label "c:$broker" --subscribers 5000 --ws-subscribers 5000 \
           --publishers 1 --rate 2 --seconds 30 --warmup "$warmup" --size 1024 --qos 0 | tee -a "$results"; stop ;;
      s|p) for n in "${storm_n[@]}"; do
           if [ $s = s ]; then clients=(--clients "$n" --ws-clients 0 --parallel 1); else clients=(--clients $((n - n / 2)) --ws-clients $((n / 2)) --parallel 50); fi
           start $broker; "${storm[@]}" $(ports $broker) --broker-pid $pid --label "$s$n:$broker" "${clients[@]}" --leave $((n / 2)) \
             | tee -a "$results"; stop
         done ;;
      d) # Firehose in a data directory of its own (a first start, then restarts reading only its own journal); then,
         # if scenarios ran before, a restart in their data directory (the sessions of 10,000 subscribers to read back)
         if [ $broker = firehose ]; then
           cmd=("${firehose_cmd[@]/-Dfirehose.broker.data-dir=$work\/firehose-data/-Dfirehose.broker.data-dir=$work/firehose-data-d}"); p=$FH_MQTT,$FH_WS
         else
           cmd=("${mosquitto_cmd[@]}"); p=$MQ_MQTT,$MQ_WS
         fi
         java -cp target/bench-classes bench.Startup --label "d:$broker" --ports $p --runs 5 --log "$work/$broker-startup.log" -- "${cmd[@]}" \
           | tee -a "$results"
         if [ $broker = firehose ] && [ -d "$work/firehose-data" ]; then
           java -cp target/bench-classes bench.Startup --label "d-restart:$broker" --ports $p --runs 5 --log "$work/$broker-restart.log" \
             -- "${firehose_cmd[@]}" | tee -a "$results"
         fi ;;
    esac
  done
done

echo
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(java -version 2>&1 | head -1), $(mosquitto -h | head -1)"
/usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        r = json.loads(line[7:]); scenario, broker = r["label"].split(":"); runs.setdefault(scenario, {}).setdefault(broker, []).append(r)
# a scenario given more than once (bench/vs-mosquitto.sh b b b): each figure is the median of its runs
def median(values):
    if not all(isinstance(v, (int, float)) for v in values):
        return values[-1]
    m = statistics.median(values)
    return int(m) if all(isinstance(v, int) for v in values) and float(m).is_integer() else m
rows = {s: {b: {k: median([r.get(k) for r in rs]) for k in rs[-1]} for b, rs in brokers.items()} for s, brokers in runs.items()}
figures = {
  "a": [("deliveries/s", "deliveries_per_s", "{:,.0f}"), ("publish rate/s", "publish_rate", "{:,.0f}"),
        ("broker peak RSS MiB", "broker_peak_rss_mib", "{:,.0f}"), ("broker CPU %", "broker_cpu_percent", "{:.0f}")],
  "b": [("latency p50 ms", "latency_p50_ms", "{:.2f}"), ("latency p99 ms", "latency_p99_ms", "{:.2f}"), ("latency max ms", "latency_max_ms", "{:.2f}"),
        ("lost", "lost", "{:,}"), ("broker CPU %", "broker_cpu_percent", "{:.0f}")],
  "c": [("lost", "lost", "{:,}"), ("duplicates", "duplicates", "{:,}"), ("broker peak RSS MiB", "broker_peak_rss_mib", "{:,.0f}"),
        ("latency p99 ms", "latency_p99_ms", "{:.2f}"), ("connect+subscribe s", "connect_seconds", "{:.1f}"),
        ("closed by broker", "closed_by_broker", "{:,}"), ("broker CPU %", "broker_cpu_percent", "{:.0f}")],
  "d": [("start-up ms (median of 5)", "startup_ms", "{:,.0f}"), ("min ms", "startup_min_ms", "{:,.0f}"), ("max ms", "startup_max_ms", "{:,.0f}")],
}
figures["d-restart"] = figures["d"]
storm = [("connect + subscribe all, s", "connect_seconds", "{:.1f}"),
         ("ms per client, first 2,000", "connect_first_block_ms_per_client", "{:.3f}"),
         ("ms per client, last 2,000", "connect_last_block_ms_per_client", "{:.3f}"),
         ("broker RSS MiB, idle, all connected", "broker_rss_mib", "{:,.0f}"),
         ("broker RSS KiB per client", "broker_rss_kib_per_client", "{:.1f}"),
         ("lost / closed by broker (2 msg/s)", "lost", "{:,}"), ("", "closed_by_broker", "{:,}"),
         ("latency p99 ms (2 msg/s, all connected)", "latency_p99_ms", "{:.1f}"),
         ("half drop off at once: p99 / max ms of the others", "storm_latency_p99_ms", "{:.1f}"), ("", "storm_latency_max_ms", "{:.1f}"),
         ("... lost by the others", "storm_lost", "{:,}"), ("... broker CPU % (10 s)", "storm_broker_cpu_percent", "{:.0f}"),
         ("... then they connect and subscribe again, s", "rejoin_seconds", "{:.1f}"), ("... ms per client", "rejoin_ms_per_client", "{:.3f}")]
for key in runs:
    if key[0] in "sp" and key[1:].isdigit():
        figures[key] = storm
for s in sorted(runs):
    n = len(runs[s].get("firehose", []))
    if n > 1:
        print(f"scenario {s}: median of {n} runs per broker; Firehose {[r.get('latency_p99_ms', r.get('deliveries_per_s')) for r in runs[s]['firehose']]}, "
              f"Mosquitto {[r.get('latency_p99_ms', r.get('deliveries_per_s')) for r in runs[s].get('mosquitto', [])]}")
print("| scenario | figure | Firehose | Mosquitto | Firehose/Mosquitto |")
print("| --- | --- | --- | --- | --- |")
for s in sorted(rows, key=lambda k: (k[0], int(k[1:]) if k[1:].isdigit() else 0, k)):
    fh, mq = rows[s].get("firehose", {}), rows[s].get("mosquitto", {})
    for name, key, fmt in figures[s]:
        a, b = fh.get(key), mq.get(key)
        ratio = "{:.2f}".format(a / b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "—"
        print(f"| {s} | {name} | {fmt.format(a) if a is not None else '—'} | {fmt.format(b) if b is not None else '—'} | {ratio} |")
# memory per client as the slope between the smallest and the largest storm of a kind (fixed costs cancel out)
for kind in "sp":
    ns = sorted(int(k[1:]) for k in rows if k[0] == kind and k[1:].isdigit())
    if len(ns) > 1:
        lo, hi = rows[f"{kind}{ns[0]}"], rows[f"{kind}{ns[-1]}"]
        slope = {b: (hi[b]["broker_rss_mib"] - lo[b]["broker_rss_mib"]) * 1024 / (ns[-1] - ns[0]) for b in hi if b in lo}
        print(f"{kind}: RSS per added client from {ns[0]:,} to {ns[-1]:,} clients, KiB: "
              + ", ".join(f"{b} {v:.1f}" for b, v in slope.items()))
PY
echo "raw results: $results"
