#!/usr/bin/env bash
# The cost of a Firehose cluster: two nodes (fat-jar processes, the README's JVM options) on this machine.
# usage: bench/cluster.sh [f0] [f1] [f2] [l] [m]...   (default: all, about 5 minutes; a scenario given several times
#        runs that often, and the table shows medians; lost, duplicates and closed by broker are the worst run's)
#   f0: standalone node (no cluster), 1 publisher -> 1,000 subscribers, QoS 0, 1 KiB, flat out      (deliveries/s)
#   f1: the same on node A of a two-node cluster, node B idle                                    (the cluster's own cost)
#   f2: the same with the subscribers split: 500 on A (the publisher's node), 500 on B           (the cost of crossing)
#   l:  20 msg/s, 1,000 subscribers on each node, publisher on A: latency on A vs on B           (the cost of one hop)
#   m:  10,000 subscribers on B: what they cost node A, which only knows of them (remote bindings), per subscriber
# Both nodes and the load tool share this machine's CPUs: a figure here is a lower bound for nodes on machines of
# their own. FIREHOSE_JAVA_OPTS: the nodes' JVM options (default: -Xmx768m -Xmn256m).
# FIREHOSE_JAR: the jar to measure (default: target/firehose.jar, built if missing), e.g. an older build to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=("$@"); [ ${#scenarios[@]} -gt 0 ] || scenarios=(f0 f1 f2 l m)
firehose_jar=${FIREHOSE_JAR:-target/firehose.jar}
[ -f "$firehose_jar" ] || mvn -q -B package -DskipTests
mkdir -p target/bench-classes
javac -d target/bench-classes bench/java/bench/NioSubscribers.java bench/java/bench/Load.java
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

work=$(mktemp -d /tmp/firehose-cluster-bench.XXXXXX)
results="$work/results.txt"
trap 'pkill -P $$ 2> /dev/null || true' EXIT
A_MQTT=21883 B_MQTT=21884 A_CLUSTER=21616 B_CLUSTER=21617
load=(java -Xss512k -cp target/bench-classes bench.Load --user bench --password benchpw --size 1024 --qos 0 --warmup "${WARMUP:-5}")

node() { # name mqtt-port cluster-port other-cluster-port|- [management-port] -> sets pid
  local cluster=()
  if [ "$4" != - ]; then
    cluster=(-Dfirehose.cluster.port="$3" -Dfirehose.cluster.members=127.0.0.1:"$4" -Dfirehose.cluster.password=bench-cluster-pw)
  fi
  if (echo > /dev/tcp/127.0.0.1/"$2") 2> /dev/null; then echo "port $2 is in use (a node of an earlier run?)" >&2; return 1; fi
  java ${FIREHOSE_JAVA_OPTS--Xmx768m -Xmn256m} -Dfirehose.broker.host=127.0.0.1 -Dfirehose.broker.mqtt-port="$2" -Dfirehose.broker.ws-port=0 \
    -Dfirehose.broker.data-dir="$work/$1" -Dcamel.server.enabled=false -Dcamel.management.enabled=$([ -n "${5:-}" ] && echo true || echo false) \
    -Dcamel.management.port=${5:-0} -Dfirehose.broker.max-connections=19000 \
    "-Dfirehose.publisher[bench].password=benchpw" "-Dfirehose.publisher[bench].topics=bench/#" "${cluster[@]}" \
    -jar "$firehose_jar" >> "$work/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do (echo > /dev/tcp/127.0.0.1/"$2") 2> /dev/null && return 0; sleep 0.1; done
  echo "node $1 did not start" >&2; return 1
}
linked() { # log: wait until the node's bridge to the other is up (Artemis logs it), at most 60 s
  for _ in $(seq 1 600); do grep -q "Cluster: linked with" "$work/$1.log" && return 0; sleep 0.1; done; echo "no cluster link in $1" >&2; return 1
}
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/"$1"/status; }
heap() { # MiB of heap in use after a full GC: what the node keeps, without the garbage RSS also counts
  jcmd "$1" GC.run > /dev/null; jcmd "$1" GC.heap_info | awk '/garbage-first heap/ {for (i = 1; i <= NF; i++) if ($i == "used") {v = $(i + 1); sub(/K,?/, "", v); printf "%.0f", v / 1024}}'
}
stop_all() { for p in ${a:-} ${b:-}; do kill "$p" 2> /dev/null || true; wait "$p" 2> /dev/null || true; done; rm -rf "$work"/a "$work"/b "$work"/s; }

for s in "${scenarios[@]}"; do
  echo "== scenario $s"
  case $s in
    f0) node s $A_MQTT - -; a=$pid
        "${load[@]}" --port $A_MQTT --broker-pid $a --label "f0" --subscribers 1000 --rate 0 --seconds 20 | tee -a "$results"; stop_all ;;
    f1|f2) node a $A_MQTT $A_CLUSTER $B_CLUSTER; a=$pid; node b $B_MQTT $B_CLUSTER $A_CLUSTER; b=$pid; linked a; linked b
        ports=$A_MQTT; [ $s = f2 ] && ports=$A_MQTT,$B_MQTT
        "${load[@]}" --port $ports --publish-port $A_MQTT --broker-pid $a --label "$s" --subscribers 1000 --rate 0 --seconds 20 \
          | tee -a "$results"; stop_all ;;
    l)  node a $A_MQTT $A_CLUSTER $B_CLUSTER; a=$pid; node b $B_MQTT $B_CLUSTER $A_CLUSTER; b=$pid; linked a; linked b
        "${load[@]}" --port $A_MQTT --publish-port $A_MQTT --topic bench/local --broker-pid $a --label "l-same-node" \
          --subscribers 1000 --rate 20 --seconds 30 > "$work/l-a.txt" & local_load=$!
        "${load[@]}" --port $B_MQTT --publish-port $A_MQTT --topic bench/remote --broker-pid $b --label "l-other-node" \
          --subscribers 1000 --rate 20 --seconds 30 > "$work/l-b.txt"
        wait $local_load || true; cat "$work/l-a.txt" "$work/l-b.txt" | tee -a "$results"; stop_all ;;
    m)  node a $A_MQTT $A_CLUSTER $B_CLUSTER 29876; a=$pid; node b $B_MQTT $B_CLUSTER $A_CLUSTER 29877; b=$pid; linked a; linked b
        sleep 5; a0=$(rss $a); b0=$(rss $b); ha0=$(heap $a); hb0=$(heap $b)
        # how long after B has the 10,000 subscribers A knows of all of them (metrics, polled every 0.2 s)
        ( metric() { curl -s "localhost:$1/observe/metrics" | awk -v m="$2" '$1 == m {printf "%d", $2}'; }
          until [ "$(metric 29877 firehose_broker_connections)" -ge 10000 ] 2> /dev/null; do sleep 0.2; done; t0=$(date +%s.%N)
          until [ "$(metric 29876 firehose_cluster_remote_subscriptions)" -ge 10000 ] 2> /dev/null; do sleep 0.2; done; t1=$(date +%s.%N)
          echo "RESULT {\"label\":\"m-propagation\",\"seconds\":$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')}" >> "$results" ) & poll=$!
        "${load[@]}" --port $B_MQTT --publish-port $A_MQTT --broker-pid $a --label "m" --subscribers 10000 --rate 2 --seconds 20 \
          | tee -a "$results"
        kill $poll 2> /dev/null || true
        a1=$(rss $a); b1=$(rss $b); ha1=$(heap $a); hb1=$(heap $b)
        echo "RESULT {\"label\":\"m-rss\",\"a_idle_mib\":$a0,\"a_after_mib\":$a1,\"b_idle_mib\":$b0,\"b_after_mib\":$b1,\"a_heap_idle_mib\":$ha0,\"a_heap_after_mib\":$ha1,\"b_heap_idle_mib\":$hb0,\"b_heap_after_mib\":$hb1}" | tee -a "$results"
        stop_all ;;
  esac
done

echo
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(java -version 2>&1 | head -1)"
/usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        x = json.loads(line[7:]); runs.setdefault(x["label"], []).append(x)
# a scenario given several times (bench/cluster.sh f0 f1 f2 f0 f1 f2): each figure is the median of its runs, but what
# is lost, duplicated or closed is its worst run's (a median would hide one bad run in three)
WORST = ("lost", "duplicates", "closed_by_broker", "silent_subscribers")
r = {k: {f: (max if f in WORST else statistics.median)([x[f] for x in v]) if isinstance(v[-1][f], (int, float)) else v[-1][f]
         for f in v[-1]} for k, v in runs.items()}
for k, v in runs.items():
    if len(v) > 1 and "deliveries_per_s" in v[-1]:
        print(f"{k}: median of {len(v)} runs; deliveries/s {[round(x['deliveries_per_s']) for x in v]}, p99 ms {[x['latency_p99_ms'] for x in v]}")
print("| scenario | deliveries/s | latency p50 ms | p99 ms | lost | duplicates | closed by broker | node A CPU % | node A peak RSS MiB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for k in ["f0", "f1", "f2", "l-same-node", "l-other-node", "m"]:
    if k in r:
        x = r[k]
        print(f"| {k} | {x.get('deliveries_per_s', 0):,.0f} | {x.get('latency_p50_ms', 0):.2f} | {x.get('latency_p99_ms', 0):.2f} | "
              f"{x.get('lost', 0):,.0f} | {x.get('duplicates', 0):,.0f} | {x.get('closed_by_broker', 0):,.0f} | {x.get('broker_cpu_percent', 0):.0f} | {x.get('broker_peak_rss_mib', 0):,.0f} |")
if "m-propagation" in r:
    print(f"m: node A knew of all 10,000 subscriptions {r['m-propagation']['seconds']:.1f} s after node B had them")
if "m-rss" in r:
    m = r["m-rss"]
    print(f"m: 10,000 subscribers on B: node A (remote bindings only) {m['a_idle_mib']} -> {m['a_after_mib']} MiB RSS "
          f"({(m['a_after_mib'] - m['a_idle_mib']) * 1024 / 10000:.1f} KiB per remote subscriber); "
          f"node B {m['b_idle_mib']} -> {m['b_after_mib']} MiB ({(m['b_after_mib'] - m['b_idle_mib']) * 1024 / 10000:.1f} KiB per subscriber)")
    print(f"m: heap in use after a full GC: node A {m['a_heap_idle_mib']} -> {m['a_heap_after_mib']} MiB "
          f"({(m['a_heap_after_mib'] - m['a_heap_idle_mib']) * 1024 / 10000:.1f} KiB per remote subscriber); node B "
          f"{m['b_heap_idle_mib']} -> {m['b_heap_after_mib']} MiB ({(m['b_heap_after_mib'] - m['b_heap_idle_mib']) * 1024 / 10000:.1f} KiB per subscriber)")
PY
echo "raw results: $results"
