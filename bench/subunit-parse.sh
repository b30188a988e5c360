#!/usr/bin/env bash
# Subunit parse throughput: the Java parser vs Debian's subunit-stats on the same generated stream.
# usage: bench/subunit-parse.sh [tests] [runs]      (needs python3-subunit and subunit: apt-get install -y python3-subunit subunit)
set -euo pipefail
cd "$(dirname "$0")/.."
tests=${1:-200000}
runs=${2:-3}
[ -f target/firehose.jar ] || mvn -q -B package -DskipTests
stream=target/bench-subunit-$tests.subunit
if [ ! -f "$stream" ]; then
  # 2% failures with a 2 KB traceback each, 5% skips, spread over 8 workers
  /usr/bin/python3 bench/make-subunit.py --tests "$tests" --fail $((tests / 50)) --skip $((tests / 20)) \
    --xfail $((tests / 1000)) --uxsuccess 0 --attachment-bytes 2000 --workers 8 > "$stream.tmp"
  mv "$stream.tmp" "$stream"
fi
bytes=$(stat -c %s "$stream")
echo "stream: $stream, $bytes bytes, $tests tests; $(nproc) CPUs, $(java -version 2>&1 | head -1)"
{ subunit-stats < "$stream" || true; } | head -4 | tr '\n' ' '; echo
seconds() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
best_py=999999; best_java=999999
for i in $(seq "$runs"); do
  py=$(seconds sh -c "subunit-stats < '$stream'")
  jv=$(seconds java -cp target/firehose.jar subunit.SubunitSummary "$stream")
  echo "run $i: subunit-stats ${py} s, java (incl. JVM start) ${jv} s"
  best_py=$(echo "if ($py < $best_py) $py else $best_py" | bc); best_java=$(echo "if ($jv < $best_java) $jv else $best_java" | bc)
done
# the parser alone, JVM warm: the same file five times in one JVM, the last run's figures
warm=$(java -cp target/firehose.jar subunit.SubunitSummary "$stream" "$stream" "$stream" "$stream" "$stream" 2>&1 >/dev/null | tail -1)
echo "java warm: $warm"
warm_mbs=$(echo "$warm" | sed -E 's/.* ([0-9.]+) MB\/s.*/\1/')
printf 'best of %s: subunit-stats %.2f s (%.1f MB/s, %.0f results/s); java with JVM start %.2f s (%.1f MB/s, %.0f results/s); ratio %.1fx; warm parser %.1f MB/s, ratio %.0fx\n' \
  "$runs" "$best_py" "$(echo "$bytes / 1000000 / $best_py" | bc -l)" "$(echo "$tests / $best_py" | bc -l)" \
  "$best_java" "$(echo "$bytes / 1000000 / $best_java" | bc -l)" "$(echo "$tests / $best_java" | bc -l)" "$(echo "$best_py / $best_java" | bc -l)" \
  "$warm_mbs" "$(echo "$warm_mbs / ($bytes / 1000000 / $best_py)" | bc -l)"
