#!/usr/bin/env bash
# Gerrit end-to-end latency benchmark: builds the test classes, then runs bench/java against them.
# usage: bench/gerrit-latency.sh [subscribers rate seconds]...
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
cp="target/classes:target/test-classes:$(cat target/bench-classpath.txt)"
mkdir -p target/bench-classes
javac -d target/bench-classes -cp "$cp" bench/java/bench/*.java
exec java -Xss512k ${BENCH_JAVA_OPTS:-} -cp "target/bench-classes:$cp" bench.GerritLatency "$@"
