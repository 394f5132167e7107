#!/usr/bin/env bash
# CPU side by side with DJL's PyTorch engine (libtorch 2.7.1): builds the benchmarks module in the djl
# profile, then runs org.pulmo.benchmarks.DjlSideBySide twice, each in its own JVM: "ops" (SGEMM, dense and
# grouped conv forward/backward, interleaved) and "models" (the training steps of ResNet-50, DPN-92-SE and
# MA-Net at batch 8, 224x224 and batch 4, 112x112; a check of both sides on the same weights first, then each
# side alone in child JVMs, alternating; the table at the end). Both print the FMA control and the load
# average before and after. Results and their reading: benchmarks/RESULTS.md, "CPU: side by side with DJL".
#
# Usage (from anywhere): benchmarks/djl-side-by-side.sh [runs per side] [timed steps] [warm-up steps] [sizes] [models]
# Defaults 3 4 2 8x224,4x112 resnet50,dpn92-se,manet-resnet50; about 25 minutes on 2 cores. Needs network once
# for the DJL jars, then runs offline.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh   # a JDK 25 or newer, as ./pulmo and ./run-tests find it
mvn -B -q -ntp -P djl -pl benchmarks -am -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile="$PWD/benchmarks/target/djl-cp.txt"
# Pulmo's timing children run with the JVM options of ./pulmo (scripts/java-options)
run() {
  java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dai.djl.offline=true \
    -Dpulmo.bench.javaOptions="$(grep -v '^#' scripts/java-options | tr '\n' ' ')" \
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
run models "${1:-3}" "${2:-4}" "${3:-2}" "${4:-8x224,4x112}" "${5:-resnet50,dpn92-se,manet-resnet50}" \
  || { echo "model comparison incomplete (exit $?): see 'crashed' and 'FAILED' above"; status=1; }
uptime
exit $status
