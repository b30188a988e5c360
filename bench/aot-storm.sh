#!/usr/bin/env bash
# The cold storm of vs-mosquitto.sh (scenario s: STORM_N clients connect and subscribe one after another to a broker
# just started, then receive, half drop off and come back) with the README's run command, bin/firehose, on Java 17, on
# Java 25, and on Java 25 with the AOT cache bin/firehose-train makes (its defaults, as the container image has it),
# beside Mosquitto: ROUNDS rounds, each running the four once, in an order rotated from round to round; the machine's
# load average is noted before and after each run (other work on the machine shows there).
# usage: bench/aot-storm.sh
#   ROUNDS (default 3), STORM_N (default 10000), JAVA17 (default java), JAVA25 (default Temurin's, /usr/lib/jvm/...)
# The jar is a copy of target/firehose.jar (built if missing) in a directory of this run, with its cache beside it, so
# that a rebuild of target/ meanwhile changes nothing. The load tool runs on the default java (Java 17).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
n=${STORM_N:-10000}
java17=${JAVA17:-java}
java25=${JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
[ -f target/firehose.jar ] || mvn -q -B package -DskipTests
work=$(mktemp -d /tmp/firehose-aot-storm.XXXXXX)
jar=$work/firehose.jar
cp -p target/firehose.jar "$jar"
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), build $(git rev-parse --short HEAD), $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== the cache: FIREHOSE_JAVA=$java25 FIREHOSE_JAR=$jar bin/firehose-train"
FIREHOSE_JAVA=$java25 FIREHOSE_JAR=$jar bin/firehose-train

# what each variant runs (bin/firehose's dry run): only java25-aot has the cache
declare -A env_of=([java17]="FIREHOSE_JAVA=$java17" [java25]="FIREHOSE_JAVA=$java25 FIREHOSE_AOT=off" [java25-aot]="FIREHOSE_JAVA=$java25")
for v in java17 java25 java25-aot; do
  echo "== $v: $(env ${env_of[$v]} FIREHOSE_JAR="$jar" FIREHOSE_DRY_RUN=1 bin/firehose 2>&1)"
done
env ${env_of[java25-aot]} FIREHOSE_JAR="$jar" FIREHOSE_DRY_RUN=1 bin/firehose 2>&1 | grep -q -- "-XX:AOTCache=$work/firehose.aot " \
  || { echo "the cache would not be used" >&2; exit 1; }

variants=(java17 java25 java25-aot mosquitto)
results=$work/results.txt
for round in $(seq 1 "$rounds"); do
  for i in 0 1 2 3; do
    v=${variants[$(((i + round - 1) % 4))]}
    before=$(cut -d' ' -f1 /proc/loadavg)
    log=$work/$v-$round.log
    if [ "$v" = mosquitto ]; then
      BROKERS=mosquitto STORM_N=$n bench/vs-mosquitto.sh s > "$log" 2>&1 || echo "round $round $v failed: $log"
    else
      env ${env_of[$v]} FIREHOSE_LAUNCHER=1 FIREHOSE_JAR="$jar" BROKERS=firehose STORM_N=$n bench/vs-mosquitto.sh s > "$log" 2>&1 \
        || echo "round $round $v failed: $log"
      # what the launcher said about the cache, in Firehose's log of that run
      said=$(grep -h '^firehose: ' "$(sed -n 's/^raw results: \(.*\)\/results.txt$/\1/p' "$log")/firehose.log" 2> /dev/null || true)
      [ -z "$said" ] || echo "round $round $v: $said"
    fi
    after=$(cut -d' ' -f1 /proc/loadavg)
    grep '^RESULT {' "$work/$v-$round.log" | tail -n 1 \
      | sed "s/^RESULT {/RESULT {\"variant\":\"$v\",\"round\":$round,\"load_before\":$before,\"load_after\":$after,/" >> "$results"
    echo "round $round $v: $(grep -m1 'clients connected and subscribed in' "$work/$v-$round.log"); load $before -> $after"
  done
done

/usr/bin/python3 - "$results" "$n" <<'PY'
import json, statistics, sys
rows = [json.loads(l[7:]) for l in open(sys.argv[1]) if l.startswith("RESULT ")]
n = int(sys.argv[2])
names = {"java17": "Firehose, Java 17", "java25": "Firehose, Java 25", "java25-aot": "Firehose, Java 25 + AOT cache", "mosquitto": "Mosquitto"}
figures = [("connect + subscribe all, s", "connect_seconds", "{:.1f}"),
           ("ms per client, first 2,000", "connect_first_block_ms_per_client", "{:.2f}"),
           ("ms per client, last 2,000", "connect_last_block_ms_per_client", "{:.2f}"),
           ("rejoin of half, s", "rejoin_seconds", "{:.1f}"),
           ("broker RSS MiB, all connected", "broker_rss_mib", "{:,.0f}"),
           ("lost / closed", "lost", "{:,}"), ("", "closed_by_broker", "{:,}"),
           ("load average before / after", "load_before", "{:.1f}"), ("", "load_after", "{:.1f}")]
variants = [v for v in names if any(r["variant"] == v for r in rows)]
print(f"| {n:,} clients, fresh broker | " + " | ".join(names[v] for v in variants) + " |")
print("| --- |" + " --- |" * len(variants))
for title, key, fmt in figures:
    cells = []
    for v in variants:
        values = [r.get(key) for r in sorted(rows, key=lambda r: r["round"]) if r["variant"] == v]
        shown = ", ".join(fmt.format(x) for x in values if x is not None)
        if key in ("connect_seconds", "connect_first_block_ms_per_client", "rejoin_seconds") and len(values) > 1:
            shown += " (median " + fmt.format(statistics.median(values)) + ")"
        cells.append(shown)
    if title:
        print(f"| {title} | " + " | ".join(cells) + " |")
    else:  # a second figure of the row above
        print("| ... | " + " | ".join(cells) + " |")
med = {v: statistics.median(r["connect_seconds"] for r in rows if r["variant"] == v) for v in variants}
if "mosquitto" in med:
    print("medians against Mosquitto: " + ", ".join(f"{names[v]} {med[v] / med['mosquitto']:.2f}x" for v in variants if v != "mosquitto"))
if "java17" in med:
    print("medians against Java 17: " + ", ".join(f"{names[v]} {med[v] / med['java17']:.2f}x" for v in variants if v not in ("java17", "mosquitto")))
PY
echo "raw results: $results; logs: $work"
