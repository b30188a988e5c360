#!/usr/bin/env bash
# The history of the bus (every event recorded, GET /history): what recording costs the fan-out, how fast the store
# records, and how fast it answers. One run prints three tables; about 15 minutes on 2 CPUs.
# usage: bench/history.sh [fanout] [record] [query]...   (default: all three)
#   fanout  1 publisher -> 1,000 subscribers, QoS 0, 1 KiB (vs-mosquitto.sh's b, then a, on one broker): latency at
#           20 msg/s, then deliveries/s flat out; history off, history on (embedded H2), and Mosquitto beside them
#   record  the sustained recording rate: 1 KiB events published at doubling rates (bench.HistoryRate, metrics read
#           every second) until the recording lag passes 1 s, one step half-way back, then the best rate held for 60 s;
#           then the store's size on disk per event. Embedded H2, then PostgreSQL; first, 16,000/s with the history off
#           (the broker's CPU without recording)
#   query   1,000,000 events written into an empty store by JDBC (bench.HistoryFill: not published, the app stopped),
#           the app started on it, then GET /history timed from a client (bench.HistoryQueries), 200 requests per
#           query after 20 untimed (at most QUERY_BUDGET s each). Embedded H2, then PostgreSQL
# STORES (default: h2 pg): the stores of record and query. PG=0: no PostgreSQL (else a throwaway cluster: initdb and pg_ctl from /usr/lib/postgresql/*/bin, as the postgres
#   user when run as root, in the temporary directory). PG_URL_PARAMS: parameters for the application's JDBC URL, e.g.
#   reWriteBatchedInserts=true. MOSQUITTO=0: no Mosquitto column.
# FANOUT_ROUNDS (default 1): fan-out runs per variant, alternating (the table then shows medians).
# QUERY_EVENTS (1000000), QUERY_REQUESTS (200), QUERY_BUDGET (20 s per query), RECORD_START (2000 events/s),
# RECORD_STEP (10 s), RECORD_CONFIRM (60 s).
# FIREHOSE_JAR: the jar to measure (default target/firehose.jar, built if missing). Firehose runs with the README's
# run command (bin/firehose) on ports of its own; everything it writes is under a temporary directory removed at the
# end. The raw results are kept in target/history-bench-<time>.txt; bench/history.sh --summary FILE... prints the tables
# of one or more of them (a figure of several runs is their median).
set -euo pipefail
cd "$(dirname "$0")/.."
# the tables, from raw results files (several: a scenario's figures are the medians of its runs)
summary() {
/usr/bin/python3 - "$@" <<'PY'
import json, statistics, sys
lines = [l for f in sys.argv[1:] for l in open(f)]
rs = [json.loads(l[7:]) for l in lines if l.startswith("RESULT ")]
by = {}
for r in rs:
    by.setdefault(r["label"], []).append(r)
def med(label, key):
    vals = [r[key] for r in by.get(label, []) if isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None
loads = {r["label"][5:]: r["load"] for r in rs if r["label"].startswith("load:")}
def load_note(part):
    b, a = loads.get(part + ":before"), loads.get(part + ":after")
    return f" (1-minute load average {b} before, {a} after)" if b is not None else ""

if any(l.startswith("b:") for l in by):
    print("\nFan-out: 1 publisher -> 1,000 subscribers, QoS 0, 1 KiB" + load_note("fanout"))
    variants = [v for v in ("off", "on", "mosquitto") if f"b:{v}" in by]
    names = {"off": "history off", "on": "history on (H2)", "mosquitto": "Mosquitto"}
    print("| figure | " + " | ".join(names[v] for v in variants) + " | on vs off |")
    print("| --- |" + " --- |" * (len(variants) + 1))
    rows = [("20 msg/s: latency p50 ms", "b", "latency_p50_ms", "{:.2f}"), ("20 msg/s: latency p99 ms", "b", "latency_p99_ms", "{:.2f}"),
            ("20 msg/s: latency max ms", "b", "latency_max_ms", "{:.2f}"), ("20 msg/s: deliveries/s", "b", "deliveries_per_s", "{:,.0f}"),
            ("20 msg/s: lost", "b", "lost", "{:,.0f}"), ("20 msg/s: broker CPU %", "b", "broker_cpu_percent", "{:.0f}"),
            ("flat out: deliveries/s", "a", "deliveries_per_s", "{:,.0f}"), ("flat out: publish rate/s", "a", "publish_rate", "{:,.0f}"),
            ("flat out: broker CPU %", "a", "broker_cpu_percent", "{:.0f}"), ("broker peak RSS MiB", "a", "broker_peak_rss_mib", "{:,.0f}")]
    for name, s, key, fmt in rows:
        vals = {v: med(f"{s}:{v}", key) for v in variants}
        diff = "—"
        if vals.get("on") is not None and vals.get("off"):
            diff = "{:+.1f}%".format((vals["on"] - vals["off"]) / vals["off"] * 100)
        print(f"| {name} | " + " | ".join(fmt.format(vals[v]) if vals[v] is not None else "—" for v in variants) + f" | {diff} |")
    if max(len(by.get(f"b:{v}", [])) for v in variants) > 1:
        for name, s, key in (("20 msg/s latency p99 ms", "b", "latency_p99_ms"), ("20 msg/s broker CPU %", "b", "broker_cpu_percent"),
                             ("flat-out deliveries/s", "a", "deliveries_per_s")):
            print(f"{name}, run by run (medians above): " + "; ".join(
                f"{names[v]} " + ", ".join(f"{r[key]:,.0f}" if r[key] >= 100 else f"{r[key]:.1f}" for r in by.get(f"{s}:{v}", [])) for v in variants))
    for r in by.get("recorded:on", []):
        print(f"history on: {r['recorded']:,} events recorded, {r['lost']:,} lost, {r['waiting']:,} waiting at the end")

recs = [r for r in rs if r["label"].startswith("record:") and "sustained_rate" in r]
if recs:
    print("\nSustained recording, 1 KiB events, one publisher, QoS 0" + load_note("record"))
    print("| store | sustained events/s (60 s, lag < 1 s) | recorded/s | lag max s | waiting max | first failed rate: recorded/s, lag s | disk bytes/event |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in recs:
        store = r["label"].split(":")[1]
        c = r.get("confirm") or {}
        steps = [json.loads(l[5:]) for l in lines if l.startswith("STEP ") and json.loads(l[5:])["label"] == r["label"]]
        failed = [s for s in steps if not s["passed"] and s["phase"] == "ramp"]
        f = failed[0] if failed else None
        d = (by.get(f"disk:record:{store}") or [{}])[-1]
        per = d["bytes"] / d["events"] if d.get("events") else None
        print(f"| {store} | {r['sustained_rate']:,} | {c.get('recorded_per_s', 0):,.0f} | {c.get('max_lag_s', 0):.2f} | {c.get('max_waiting', 0):,} | "
              + (f"{f['rate']:,}: {f['recorded_per_s']:,.0f}, {f['max_lag_s']:.1f}" if f else "none failed") + " | "
              + (f"{per:,.0f} ({d['bytes'] / 2**20:,.0f} MiB / {d['events']:,})" if per else "—") + " |")
    steps = [json.loads(l[5:]) for l in lines if l.startswith("STEP ")]
    for s in steps:
        print(f"  {s['label']} {s['phase']} {s['rate']:,}/s {s['seconds']} s: published {s['published_per_s']:,.0f}/s, recorded {s['recorded_per_s']:,.0f}/s, "
              f"lag max {s['max_lag_s']:.2f} s, waiting max {s['max_waiting']:,}, drained in {s['drain_s']:.1f} s, lost {s['lost']:,}, "
              f"broker CPU {s.get('broker_cpu_percent', -1):.0f}%: {'ok' if s['passed'] else 'FAILED'}")
    at = {s["label"].split(":")[1]: s for s in steps if s["rate"] == 16000 and s["phase"] in ("only", "ramp")}
    if "off" in at:
        off = at["off"]["broker_cpu_percent"]
        print(f"broker CPU at 16,000 events/s (10 s): history off {off:.0f}%"
              + "".join(f", {k} {v['broker_cpu_percent']:.0f}% (recording: {(v['broker_cpu_percent'] - off) * 1e4 / 16000:.0f} µs of CPU per event)"
                        for k, v in at.items() if k != "off"))

qs = [r for r in rs if r["label"].startswith("query:")]
if qs:
    stores = sorted({r["label"].split(":")[1] for r in qs}, key=lambda s: s != "h2")
    filled = max((r["rows"] for r in rs if r["label"].startswith("fill:")), default=0)
    print(f"\nGET /history over {filled:,} stored events, ms from the client, one request at a time" + load_note("query"))
    print("| query | " + " | ".join(f"{s} p50 | {s} p99" for s in stores) + " | events per answer |")
    print("| --- |" + " --- | --- |" * len(stores) + " --- |")
    texts = {"a": "latest 100 of gerrit/openstack/nova/#", "b": "gerrit/+/nova/comment-added, 100", "c": "last hour of # (delta=3600, limit=1000)",
             "d": "gerrit/openstack/nova/# after= a random cursor, 100", "e": "one topic gerrit/openstack/nova/comment-added, 100",
             "f": "a quiet project gerrit/openstack/storlets/#, 100", "g": "a topic with no events gerrit/openstack/no-such-project/#"}
    for q in sorted({r["query"] for r in qs}):
        cells, events = [], "—"
        for s in stores:
            r = next((x for x in qs if x["label"] == f"query:{s}" and x["query"] == q), None)
            if r:
                note = "" if r["requests"] >= 100 and not r.get("errors") else f" ({r['requests']} req, {r.get('errors', 0)} errors)"
                cells += [f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}{note}"]
                events = f"{r['events_per_answer']:.0f}"
            else:
                cells += ["—", "—"]
        print(f"| ({q}) {texts.get(q, q)} | " + " | ".join(cells) + f" | {events} |")
    for r in rs:
        if r["label"].startswith("fill:"):
            d = (by.get("disk:query:" + r["label"][5:]) or [{}])[-1]
            size = f", {d['bytes'] / 2**20:,.0f} MiB on disk ({d['bytes'] / d['events']:,.0f} bytes/event)" if d.get("bytes") else ""
            print(f"{r['label'][5:]}: {r['rows']:,} events filled in {r['fill_seconds']:.0f} s{size}; openstack/nova {r['nova']:,}, of them comment-added {r['nova_comment_added']:,}")
PY
}
if [ "${1:-}" = --summary ]; then shift; summary "$@"; exit 0; fi

parts=("$@"); [ ${#parts[@]} -gt 0 ] || parts=(fanout record query)
jar=$(readlink -f "${FIREHOSE_JAR:-target/firehose.jar}")
[ -f "$jar" ] || mvn -q -B package -DskipTests
mkdir -p target/bench-classes
javac -d target/bench-classes -cp "$jar" bench/java/bench/NioSubscribers.java bench/java/bench/Load.java \
  bench/java/bench/HistoryRate.java bench/java/bench/HistoryFill.java bench/java/bench/HistoryQueries.java
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

work=$(mktemp -d /tmp/firehose-history-bench.XXXXXX)
results="$work/results.txt"
kept=target/history-bench-$(date -u +%Y%m%dT%H%M%SZ).txt
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1 || true)
as_pg=(); [ "$(id -u)" = 0 ] && as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fh_pid= mq_pid= pg_up=
cleanup() {
  local status=$?
  if [ "$status" != 0 ]; then # the logs of a failed run are kept
    mkdir -p "${kept%.txt}-logs"; cp "$work"/*.log "${kept%.txt}-logs/" 2> /dev/null || true
    for p in $fh_pid; do kill -0 "$p" 2> /dev/null || echo "Firehose (pid $p) had exited; its log: ${kept%.txt}-logs/" >&2; done
  fi
  for p in $fh_pid $mq_pid; do kill "$p" 2> /dev/null || true; done
  for p in $fh_pid $mq_pid; do wait "$p" 2> /dev/null || true; done
  if [ -n "$pg_up" ]; then (cd "$work" && "${as_pg[@]}" "$pg_bin/pg_ctl" stop -D "$work/pg/data" -m immediate -w -t 60 > /dev/null 2>&1) || true; fi
  [ -f "$results" ] && cp "$results" "$kept" 2> /dev/null && echo "raw results: $kept"
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { # a free TCP port of 127.0.0.1 below the ephemeral range
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))
    (echo > /dev/tcp/127.0.0.1/$p) 2> /dev/null || { echo $p; return 0; }
  done
  echo "no free port" >&2; return 1
}
FH_MQTT=$(free_port) FH_WS=$(free_port) FH_HTTP=$(free_port) FH_MGMT=$(free_port) MQ_MQTT=$(free_port) PG_PORT=$(free_port)
wait_port() { for _ in $(seq 1 600); do (echo > /dev/tcp/127.0.0.1/"$1") 2> /dev/null && return 0; sleep 0.1; done; echo "port $1 not open" >&2; return 1; }
load_avg() { cut -d' ' -f1 /proc/loadavg; }
metric() { curl -s "http://127.0.0.1:$FH_MGMT/observe/metrics" | awk -v m="$1" '$1 == m {printf "%.0f", $2}'; }

# Firehose through the README's run command: name data-dir [more -D options] -> fh_pid
start_firehose() {
  local name=$1 data=$2; shift 2
  JAVA_OPTS="-Dfirehose.broker.host=127.0.0.1 -Dfirehose.broker.mqtt-port=$FH_MQTT -Dfirehose.broker.ws-port=$FH_WS \
 -Dcamel.server.port=$FH_HTTP -Dcamel.management.port=$FH_MGMT -Dfirehose.broker.data-dir=$data -Dfirehose.subunit.inbox=$data/inbox \
 -Dfirehose.broker.max-connections=19000 -Dfirehose.publisher[bench].password=benchpw -Dfirehose.publisher[bench].topics=bench/# $*" \
    FIREHOSE_JAR="$jar" bin/firehose >> "$work/$name.log" 2>&1 &
  fh_pid=$!
  wait_port "$FH_MQTT"; wait_port "$FH_HTTP"
  for _ in $(seq 1 240); do curl -fs "http://127.0.0.1:$FH_MGMT/observe/health" > /dev/null 2>&1 && return 0; sleep 0.25; done
  echo "Firehose ($name) not healthy after 60 s:" >&2; curl -s "http://127.0.0.1:$FH_MGMT/observe/health" >&2 || true; return 1
}
stop_firehose() {
  kill "$fh_pid" 2> /dev/null || true
  for _ in $(seq 1 300); do kill -0 "$fh_pid" 2> /dev/null || break; sleep 0.1; done
  kill -9 "$fh_pid" 2> /dev/null || true; wait "$fh_pid" 2> /dev/null || true; fh_pid=
}

# PostgreSQL: a cluster of its own in $work/pg, databases record and query owned by user firehose (password login)
pg_password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export FIREHOSE_BENCH_PG_PASSWORD=$pg_password
pg_sql() { (cd "$work" && "${as_pg[@]}" "$pg_bin/psql" -h "$work/pg/socket" -p "$PG_PORT" -U postgres -Atq -v ON_ERROR_STOP=1 "$@"); }
start_postgres() {
  [ -n "$pg_up" ] && return 0
  mkdir -p "$work/pg/socket"
  if [ ${#as_pg[@]} -gt 0 ]; then chmod 711 "$work"; chown -R postgres "$work/pg"; fi
  (cd "$work" && "${as_pg[@]}" env LC_ALL=C "$pg_bin/initdb" -D "$work/pg/data" -U postgres -E UTF8 --no-locale --auth-local=trust \
    --auth-host=scram-sha-256 --no-sync > "$work/pg/initdb.log" 2>&1)
  # the defaults otherwise (shared_buffers 128MB, fsync and synchronous_commit on)
  printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" "$PG_PORT" "$work/pg/socket" >> "$work/pg/data/postgresql.conf"
  (cd "$work" && "${as_pg[@]}" "$pg_bin/pg_ctl" start -D "$work/pg/data" -w -t 60 -l "$work/pg/postgres.log" > /dev/null)
  pg_up=1
  pg_sql -d postgres -c "CREATE ROLE firehose LOGIN PASSWORD '$pg_password'" -c "CREATE DATABASE record OWNER firehose" \
    -c "CREATE DATABASE query OWNER firehose"
  echo "PostgreSQL $(pg_sql -d postgres -c 'SHOW server_version') on 127.0.0.1:$PG_PORT"
}
pg_opts() { # database -> the history's JDBC settings (the password from the environment, never on the command line)
  echo "-Dfirehose.history.url=jdbc:postgresql://127.0.0.1:$PG_PORT/$1${PG_URL_PARAMS:+?$PG_URL_PARAMS} -Dfirehose.history.user=firehose -Dfirehose.history.password=env:FIREHOSE_BENCH_PG_PASSWORD"
}
stores=()
for store in ${STORES:-h2 pg}; do
  if [ "$store" = pg ]; then
    [ "${PG:-1}" = 0 ] && continue
    if [ -z "$pg_bin" ] || { [ ${#as_pg[@]} -gt 0 ] && ! id postgres > /dev/null 2>&1; }; then echo "no PostgreSQL here: H2 only" >&2; continue; fi
  fi
  stores+=("$store")
done

mosquitto_start() {
  mkdir -p "$work/mosquitto"
  : > "$work/mosquitto/passwd"; mosquitto_passwd -b "$work/mosquitto/passwd" bench benchpw
  printf 'topic read #\nuser bench\ntopic readwrite bench/#\n' > "$work/mosquitto/acl"
  printf 'per_listener_settings false\nallow_anonymous true\npassword_file %s\nacl_file %s\nmax_queued_messages 10000\nlistener %s 127.0.0.1\n' \
    "$work/mosquitto/passwd" "$work/mosquitto/acl" "$MQ_MQTT" > "$work/mosquitto/mosquitto.conf"
  if id mosquitto > /dev/null 2>&1; then chown -R mosquitto "$work/mosquitto"; chmod 711 "$work"; fi
  mosquitto -c "$work/mosquitto/mosquitto.conf" >> "$work/mosquitto.log" 2>&1 & mq_pid=$!
  wait_port "$MQ_MQTT"
}
load=(java -Xss512k -cp target/bench-classes bench.Load --user bench --password benchpw --subscribers 1000 --publishers 1 --size 1024
  --qos 0 --warmup 5)

echo "machine: $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(java -version 2>&1 | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for part in "${parts[@]}"; do
  echo "RESULT {\"label\":\"load:$part:before\",\"load\":$(load_avg)}" >> "$results"
  case $part in
    fanout)
      variants=(off on); [ "${MOSQUITTO:-1}" != 0 ] && command -v mosquitto > /dev/null && variants+=(mosquitto)
      for round in $(seq 1 "${FANOUT_ROUNDS:-1}"); do
        for v in "${variants[@]}"; do
          echo "== fan-out, round $round: $v (load average $(load_avg))"
          if [ "$v" = mosquitto ]; then
            mosquitto_start; pid=$mq_pid; port=$MQ_MQTT
          else
            rm -rf "$work/fanout-$v"
            start_firehose "fanout-$v" "$work/fanout-$v" -Dfirehose.history.enabled=$([ "$v" = on ] && echo true || echo false)
            pid=$fh_pid; port=$FH_MQTT
          fi
          "${load[@]}" --port "$port" --broker-pid "$pid" --label "b:$v" --rate 20 --seconds 30 | tee -a "$results"
          "${load[@]}" --port "$port" --broker-pid "$pid" --label "a:$v" --rate 0 --seconds 20 | tee -a "$results"
          if [ "$v" = mosquitto ]; then
            kill "$mq_pid"; wait "$mq_pid" 2> /dev/null || true; mq_pid=
          else
            if [ "$v" = on ]; then
              for _ in $(seq 1 100); do [ "$(metric firehose_history_waiting)" = 0 ] && break; sleep 0.2; done
              echo "RESULT {\"label\":\"recorded:$v\",\"recorded\":$(metric firehose_history_recorded_total),\"lost\":$(metric firehose_history_lost_total),\"waiting\":$(metric firehose_history_waiting)}" \
                | tee -a "$results"
            fi
            stop_firehose; rm -rf "$work/fanout-$v"
          fi
        done
      done ;;
    record)
      # the broker taking 16,000 events/s in with the history off: its CPU without recording, for the ramps' 16,000/s step
      echo "== recording rate: history off, 16,000/s (load average $(load_avg))"
      rm -rf "$work/record-off"
      start_firehose record-off "$work/record-off" -Dfirehose.history.enabled=false
      java -cp target/bench-classes bench.HistoryRate --port "$FH_MQTT" --user bench --password benchpw --broker-pid "$fh_pid" \
        --metrics "http://127.0.0.1:$FH_MGMT/observe/metrics" --label "record:off" --only 16000 --step "${RECORD_STEP:-10}" | tee -a "$results"
      stop_firehose; rm -rf "$work/record-off"
      for store in "${stores[@]}"; do
        echo "== recording rate: $store (load average $(load_avg))"
        opts=""; [ "$store" = pg ] && { start_postgres; opts=$(pg_opts record); }
        rm -rf "$work/record-$store"
        start_firehose "record-$store" "$work/record-$store" $opts
        java -cp target/bench-classes bench.HistoryRate --port "$FH_MQTT" --user bench --password benchpw --broker-pid "$fh_pid" \
          --metrics "http://127.0.0.1:$FH_MGMT/observe/metrics" --label "record:$store" --start "${RECORD_START:-2000}" \
          --step "${RECORD_STEP:-10}" --confirm "${RECORD_CONFIRM:-60}" | tee -a "$results"
        recorded=$(metric firehose_history_recorded_total); gauge=$(metric firehose_history_store_bytes)
        stop_firehose
        if [ "$store" = h2 ]; then
          bytes=$(du -sb "$work/record-h2/history" | cut -f1); rows=$recorded
        else
          read -r bytes rows < <(pg_sql -d record -F ' ' -c "SELECT pg_total_relation_size('events'), count(*) FROM events")
        fi
        echo "RESULT {\"label\":\"disk:record:$store\",\"bytes\":$bytes,\"events\":$rows,\"store_gauge_bytes\":${gauge:--1}}" | tee -a "$results"
        rm -rf "$work/record-$store"
      done ;;
    query)
      for store in "${stores[@]}"; do
        echo "== queries over ${QUERY_EVENTS:-1000000} events: $store (load average $(load_avg))"
        rm -rf "$work/query-$store"; mkdir -p "$work/query-$store"
        if [ "$store" = h2 ]; then
          url="jdbc:h2:file:$work/query-h2/history/events"; creds=(); opts=""
        else
          start_postgres; url="jdbc:postgresql://127.0.0.1:$PG_PORT/query"; creds=(--user firehose --password "$pg_password"); opts=$(pg_opts query)
        fi
        java -cp "$jar:target/bench-classes" bench.HistoryFill --url "$url" "${creds[@]}" --events "${QUERY_EVENTS:-1000000}" --label "fill:$store" \
          > "$work/fill-$store.log" 2>&1
        grep -E '^(RESULT |[0-9,]+ events)' "$work/fill-$store.log" | tee -a "$results"
        echo "RESULT {\"label\":\"load:query-$store:filled\",\"load\":$(load_avg)}" >> "$results"
        start_firehose "query-$store" "$work/query-$store" $opts
        java -cp target/bench-classes bench.HistoryQueries --base "http://127.0.0.1:$FH_HTTP" --label "query:$store" \
          --requests "${QUERY_REQUESTS:-200}" --warmup 20 --budget "${QUERY_BUDGET:-20}" \
          a='topic=gerrit/openstack/nova/%23&limit=100' \
          b='topic=gerrit/%2B/nova/comment-added&limit=100' \
          c='topic=%23&delta=3600&limit=1000' \
          d='topic=gerrit/openstack/nova/%23&after={after}&limit=100' \
          e='topic=gerrit/openstack/nova/comment-added&limit=100' \
          f='topic=gerrit/openstack/storlets/%23&limit=100' \
          g='topic=gerrit/openstack/no-such-project/%23&limit=100' | tee -a "$results"
        stop_firehose
        if [ "$store" = h2 ]; then
          bytes=$(du -sb "$work/query-h2/history" | cut -f1)
        else
          bytes=$(pg_sql -d query -c "SELECT pg_total_relation_size('events')")
        fi
        echo "RESULT {\"label\":\"disk:query:$store\",\"bytes\":$bytes,\"events\":${QUERY_EVENTS:-1000000}}" | tee -a "$results"
        rm -rf "$work/query-$store"
        [ "$store" = pg ] && pg_sql -d query -c "DROP TABLE events" -c "DROP TABLE firehose_history_schema"
      done ;;
    *) echo "unknown part '$part': fanout, record or query" >&2; exit 2 ;;
  esac
  echo "RESULT {\"label\":\"load:$part:after\",\"load\":$(load_avg)}" >> "$results"
done

echo
echo "machine: $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(java -version 2>&1 | head -1)$(command -v mosquitto > /dev/null && echo ", $(mosquitto -h | head -1)")"
summary "$results"
