#!/usr/bin/env bash
# CPU side by side with DJL's PyTorch engine (libtorch 2.7.1): builds the benchmarks module in the djl
# profile, then runs org.pulmo.benchmarks.DjlSideBySide twice, each in its own JVM: "ops" (SGEMM, dense and
# grouped conv forward/backward, interleaved) and "resnet" (ResNet-50 training step, each side alone in
# child JVMs, alternating). Both print the FMA control and the load average before and after.
# Results and their reading: benchmarks/RESULTS.md, "CPU: side by side with DJL".
#
# Usage (from anywhere): benchmarks/djl-side-by-side.sh [resnet runs per side] [timed steps] [warm-up steps]
# Defaults 4 5 4; about 5-6 minutes on 2 cores. Needs network once for the DJL jars, then runs offline.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export PATH="$JAVA_HOME/bin:$PATH"
mvn -B -q -ntp -P djl -pl benchmarks -am -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile="$PWD/benchmarks/target/djl-cp.txt"
run() {
  java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dai.djl.offline=true \
    -cp "benchmarks/target/classes:$(cat benchmarks/target/djl-cp.txt)" org.pulmo.benchmarks.DjlSideBySide "$@"
}
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo ' (with local changes)');" \
  "Pulmo library code last changed in $(git log -1 --format='%h %cd' --date=iso -- tensor-core nn models);" \
  "$(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(java -version 2>&1 | head -1)"
uptime
# a part that fails (a crashed side: libtorch has died with SIGFPE on some CPUs) is reported and the next part runs;
# the script's exit status says whether everything finished
status=0
run ops || { echo "ops comparison failed (exit $?); going on"; status=1; }
run resnet "${1:-4}" "${2:-5}" "${3:-4}" || { echo "ResNet-50 comparison incomplete (exit $?): see 'crashed' above"; status=1; }
uptime
exit $status
