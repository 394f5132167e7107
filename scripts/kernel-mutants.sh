#!/usr/bin/env bash
# Plants one bug at a time in the CUDA kernels and checks that the gpu-tagged kernel tests, run on the emulated GPU,
# notice each (the table and the details: cuda-kernels/src/test/java/org/pulmo/cuda/KernelMutants.java). Needs what
# the emulated-GPU lane needs: ../shared/gpu/mock-driver, gcc, g++, nvcc, ptxas, python3. About half an hour for the
# whole table on two cores.
#   scripts/kernel-mutants.sh [--list | --check | NAME...]
# EMU_DIR (default /tmp/pulmo-kernel-mutants) is where the emulators are built and each bug's test output is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh >/dev/null
work=${EMU_DIR:-/tmp/pulmo-kernel-mutants}
mkdir -p "$work"
{ mvn -B -ntp -q -pl cuda-kernels -am install -DskipTests &&
  mvn -B -ntp -q -pl cuda-kernels test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$work/classpath"
} >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; echo "kernel-mutants: the build failed (all of it: $work/build.log)" >&2; exit 2; }
exec java -cp "cuda-kernels/target/test-classes:cuda-kernels/target/classes:$(cat "$work/classpath")" org.pulmo.cuda.KernelMutants "$@"
