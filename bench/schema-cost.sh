#!/usr/bin/env bash
# Cost of the contract check per published event: contract.EventSchemas.check on the real samples, warm JVM, one thread.
# usage: bench/schema-cost.sh [iterations per event]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt
cp="target/classes:$(cat target/bench-classpath.txt)"
mkdir -p target/bench-classes
javac -d target/bench-classes -cp "$cp" bench/java/bench/SchemaCost.java
echo "$(date -u +%FT%TZ); $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2 " GB, " $7 " GB available"}'); $(java -version 2>&1 | head -1)"
java -cp "target/bench-classes:$cp" bench.SchemaCost src/test/resources "${1:-2000}"
