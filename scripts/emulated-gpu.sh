#!/usr/bin/env bash
# Every gpu-tagged test of every module on the emulated GPU (cuda-kernels/src/test/emulator): the mock CUDA driver and
# cuDNN of ../shared/gpu/mock-driver with the kernels and cuDNN's operations computed on the CPU. The check to run
# before spending time on a real GPU: the kernels, the CUDA backend's host code, whole-model parity and the CLI on
# cuda, against the CPU. About 6 minutes on two cores (the three models' whole-model parity takes 3 of them).
# The test suite's EmulatedGpuLaneTest runs the quick part of it on every build.
#
#   scripts/emulated-gpu.sh                      all gpu-tagged tests
#   scripts/emulated-gpu.sh -Dtest=GpuParityTest -Dsurefire.failIfNoSpecifiedTests=false    any Maven test options
# EMU_DIR (default /tmp/pulmo-emulated-gpu) is where the libraries are built. EMU_CONTRACT=1 builds the kernels with their
# a * b + c fused into fused multiply-adds, as nvcc does by default (the tolerances must allow for it). EMU_RACECHECK=1 builds the emulator with
# its race check (every device- and shared-memory access of the kernels recorded: slower, and a shadow 14 times the size
# of each allocation a kernel touches, kept while it runs: CudaGraphTest took 10 minutes and 10 GB, WholeModelParityTest 36 minutes and 16 GB), e.g. EMU_RACECHECK=1 scripts/emulated-gpu.sh -Dtest=GpuParityTest -Dsurefire.failIfNoSpecifiedTests=false
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh
mock_src=${MOCK_SRC:-../shared/gpu/mock-driver}
dir=${EMU_DIR:-/tmp/pulmo-emulated-gpu}
[ -f "$mock_src/build.sh" ] || { echo "emulated-gpu: no mock driver at $mock_src" >&2; exit 2; }
rm -f "$dir/mock/kinfo.h"   # the mock is rebuilt for the kernels as they are now
MOCK_SRC=$(cd "$mock_src" && pwd) bash cuda-kernels/src/test/emulator/build-emulator.sh "$dir/mock" cuda-kernels/src/main/cuda "$dir/gpu"
# RecordedModelsTest asserts how the papers' 224 x 224 steps are recorded, never a value: computed here it took 7 of 13
# minutes, so it runs apart with nothing computed (EMU_NO_COMPUTE=1), as the test suite's emulated lane runs it. A -Dtest
# of the caller's comes after the exclusion and replaces it (the later -D wins), and then only what it names runs.
given_test=false
for a in "$@"; do case $a in -Dtest=*) given_test=true ;; esac; done
LD_LIBRARY_PATH="$dir/gpu" mvn -B -ntp test -Dgroups=gpu '-Dtest=!RecordedModelsTest' -Dsurefire.failIfNoSpecifiedTests=false "$@"
$given_test && exit 0
LD_LIBRARY_PATH="$dir/gpu" EMU_NO_COMPUTE=1 exec mvn -B -ntp test -Dgroups=gpu -pl cuda-kernels -am -Dtest=RecordedModelsTest \
  -Dsurefire.failIfNoSpecifiedTests=false "$@"
