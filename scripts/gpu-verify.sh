#!/usr/bin/env bash
# Pulmo's staged GPU check: everything a GPU machine must tell about the CUDA backend, as ONE command, in
# priority order, each step under its own time limit inside one overall budget, going on after a failed step.
#
#   Here:        ../shared/gpu/bundle.sh                      (builds, packs .gpu/ with the JVM options)
#                scripts/gpu-data.sh                           (optional: packs .gpu-data/ for the training step)
#   Mock dry run: ../shared/gpu/mock-driver/build.sh && GPU_LIB_DIRS=/tmp/pulmo-mock-gpu scripts/gpu-verify.sh
#   Emulated dry run (the kernels and cuDNN computed on the CPU, so the tests can pass): build the emulator
#                (cuda-kernels/src/test/emulator/build-emulator.sh MOCK_DIR cuda-kernels/src/main/cuda /tmp/pulmo-emulated-gpu/gpu)
#                and STEPS="02-kernels 03-cudnn 04-steady-memory 06-cli" LIMIT_SCALE=3 BUDGET_S=1500 \
#                GPU_LIB_DIRS=/tmp/pulmo-emulated-gpu/gpu scripts/gpu-verify.sh
#                (the CPU computes slowly: LIMIT_SCALE multiplies every step's limit; 05's whole-model parity takes
#                minutes even so: scripts/emulated-gpu.sh runs it)
#   GPU machine: bash scripts/gpu-verify.sh, with .gpu (and .gpu-data) carried; OUT is where reports go.
#
# Knobs: BUDGET_S (default 450), LIMIT_SCALE (default 1: multiplies each step's limit, for dry runs), OP_PROFILE_MODELS (06b's models, default dpn92-se), STEPS (space-separated step names to run, default all but 09b-racecheck and 09b-synccheck, which run only when named), GPU_LIB_DIRS (see
# cuda-env.sh). Per-step logs go to $W; after every step they are packed into $OUT/logs.tgz and the files worth
# reading first are copied beside it (a device run returns at most 8 files). SUMMARY.txt (exit status, test
# counts, first failures and the mock's violations of every step) is printed last.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/pulmo-gpu-verify-out}
W=${TMPDIR:-/tmp}/pulmo-gpu-verify
rm -rf "$W"; mkdir -p "$W" "$OUT"
BUDGET_S=${BUDGET_S:-450}
STEPS=${STEPS:-}
T0=$(date +%s)
S=$W/SUMMARY.txt
# The mock driver's log, when the libraries are the mock's: VIOLATION lines are counted per step.
export MOCK_CUDA_LOG=$W/mock-cuda.log

elapsed() { echo $(( $(date +%s) - T0 )); }
save() {
  # checkpoints stay out of the tarball (a device run returns at most 16 MiB a file)
  tar -C "$W" --exclude='*.safetensors' -czf "$OUT/logs.tgz.part" . 2>/dev/null && mv "$OUT/logs.tgz.part" "$OUT/logs.tgz"
  for f in SUMMARY.txt 02-kernels.log 03-cudnn.log 04-steady-memory.log 05-wholemodel.log 09-memcheck.log 07-train-xray.log; do
    [ -f "$W/$f" ] && cp "$W/$f" "$OUT/$f"
  done
}
trap 'save; echo; cat "$S"' EXIT

# step NAME LIMIT_S CMD...: runs CMD with OUT=$W/NAME (test.sh's reports, java.sh's hs_err), output to
# $W/NAME.log, under min(LIMIT_S, what is left of the budget); skipped when under 20 s are left.
step() {
  local name=$1 limit=$2; shift 2
  if [ -n "$STEPS" ] && ! grep -qw -- "$name" <<<"$STEPS"; then return; fi
  limit=$(( limit * ${LIMIT_SCALE:-1} ))
  local left=$(( BUDGET_S - $(elapsed) ))
  if [ "$left" -lt 20 ]; then echo "== $name SKIPPED (budget spent at t+$(elapsed)s)" | tee -a "$S"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t=$(date +%s) v0
  v0=$(grep -c VIOLATION "$MOCK_CUDA_LOG" 2>/dev/null || true)
  echo "== $name (limit ${limit}s, start t+$(elapsed)s)" | tee -a "$S"
  mkdir -p "$W/$name"
  OUT=$W/$name timeout --kill-after=10 "$limit" "$@" >"$W/$name.log" 2>&1
  local rc=$?
  { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && rc="$rc (TIMED OUT)"
  echo "   exit $rc after $(( $(date +%s) - t ))s" | tee -a "$S"
  grep -E '^\[ +[0-9]+ tests (found|successful|failed|aborted) +\]' "$W/$name.log" | tr -s ' ' | paste -sd' ' | sed 's/^/   /' | tee -a "$S"
  grep -E '✘|Caused by|CudaException|UnsatisfiedLinkError|NoClassDefFoundError|OutOfMemory|cublas12-shim\] .*not found|FAILED|hs_err|^pulmo: |Error:' \
    "$W/$name.log" | grep -v '^\s*at ' | head -n 14 | cut -c1-300 | sed 's/^/   | /' | tee -a "$S"
  grep -E '^(PARITY|MEMORY|THROUGHPUT|TRAIN|steady memory|GEMM:|CUDA device|epoch |  cuda:0 memory|Done:|Benchmark|ModelThroughputBench|Accuracy|accuracy|PyTorch .* training step|kind  |convolution|batch norm|elementwise|copy / cat)|plots skipped|worst gradient|training step on cuda|every op waiting|^STEP model=.* step=[78] |^(conv2d|batchNorm|all backend calls|outside backend)' "$W/$name.log" | head -n 30 | cut -c1-300 | sed 's/^/   > /' | tee -a "$S"
  local v1; v1=$(grep -c VIOLATION "$MOCK_CUDA_LOG" 2>/dev/null || true)
  [ "${v1:-0}" != "${v0:-0}" ] && grep VIOLATION "$MOCK_CUDA_LOG" | tail -n +$(( ${v0:-0} + 1 )) | head -n 5 | sed 's/^/   ! /' | tee -a "$S"
  ls "$W/$name"/hs_err* >/dev/null 2>&1 && echo "   JVM CRASH: $(ls "$W/$name"/hs_err*)" | tee -a "$S"
  save
}

echo "pulmo gpu-verify $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || cat .gpu/commit.txt 2>/dev/null || echo '?'), budget ${BUDGET_S}s" | tee "$S"
echo "bundle: $(tr '\n' ' ' <.gpu/bundle.txt 2>/dev/null)" | cut -c1-300 | tee -a "$S"
[ -f .gpu/jvm.args ] && grep -q jdk.incubator.vector .gpu/jvm.args || echo "WARNING: .gpu/jvm.args lacks --add-modules jdk.incubator.vector: CPU comparisons will fail" | tee -a "$S"

# 00: the machine (driver, libraries, torch); no Java.
step 00-env 40 bash -c '
  set -x
  uname -a; nproc; free -g | head -2
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap,clocks.max.sm --format=csv
  ls /opt/torch/.venv/lib/python3*/site-packages/nvidia/*/lib 2>/dev/null | head -40
  /opt/torch/.venv/bin/python3 -c "import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"cudnn\", torch.backends.cudnn.version(), torch.cuda.get_device_name(0))"
  command -v compute-sanitizer'

# 01: bundled JRE, cuBLAS 13 through the libcublas.so.12 shim, JCuda + JCublas2.
step 01-probe 90 env CUBLAS_SHIM_DEBUG=1 bash .gpu/probe.sh

CK=org.pulmo.cuda
# 02: every hand-written kernel against its CPU reference, strict FP32, launches synchronous (CUDA_LAUNCH_BLOCKING=1
# also turns on CudaRuntime's per-launch check, which names the kernel that faulted). cuDNN tests (tag "cudnn") run
# in their own JVM next: a sticky CUDA error poisons the JVM it happens in.
step 02-kernels 100 env CUDA_LAUNCH_BLOCKING=1 bash .gpu/test.sh --strict --exclude-tag cudnn \
  --select-class $CK.GpuParityTest --select-class $CK.ThreadContextTest --select-class $CK.AvailabilityTest \
  --select-class $CK.DeviceTransferGradTest --select-class $CK.ExactBlocksTest
step 03-cudnn 100 env CUDA_LAUNCH_BLOCKING=1 bash .gpu/test.sh --strict --include-tag cudnn --select-class $CK.GpuParityTest
step 04-steady-memory 120 bash .gpu/test.sh --strict --select-class $CK.SteadyMemoryTest --select-class $CK.CudaGraphTest
step 05-wholemodel 150 env CUDA_LAUNCH_BLOCKING=1 bash .gpu/test.sh --strict --select-class $CK.WholeModelParityTest
step 06-cli 90 bash .gpu/test.sh --strict --select-class org.pulmo.examples.CliGpuTest --select-class org.pulmo.train.RecordedShortBatchTest

# 09 (run before 07, which repeats checks that have passed on a GPU): out-of-bounds and race-free memory access
# of the hand-written kernels, the new ones (MAB with a warp per plane, the index walk) among them. GpuParityTest gives
# every tensor a driver allocation of exactly its bytes (CudaAllocator.exactBlocks), so an access one element past a
# tensor is outside any allocation, not in a size class's slack.
if command -v compute-sanitizer >/dev/null; then
  step 09-memcheck 120 compute-sanitizer --tool memcheck --target-processes all --print-limit 20 \
    bash .gpu/test.sh --exclude-tag cudnn --select-class $CK.GpuParityTest
else
  echo "== 09-memcheck SKIPPED (no compute-sanitizer on this machine)" | tee -a "$S"
fi

# 09b (only when named in STEPS, e.g. STEPS="09b-racecheck 09b-synccheck"): shared-memory races and barrier misuse of
# the hand-written kernels. Slow (every shared-memory access is tracked), and a static review of every kernel found no
# race, so they are left to a run that has time to spare.
for tool in racecheck synccheck; do
  grep -qw -- "09b-$tool" <<<"$STEPS" || continue
  if command -v compute-sanitizer >/dev/null; then
    step 09b-$tool 150 compute-sanitizer --tool $tool --target-processes all --print-limit 20 \
      bash .gpu/test.sh --exclude-tag cudnn --select-class $CK.GpuParityTest
  else
    echo "== 09b-$tool SKIPPED (no compute-sanitizer on this machine)" | tee -a "$S"
  fi
done

# 07: a short real training on the X-ray set at the paper's size (when .gpu-data/xray-4class travelled), then
# evaluate and explain on cuda.
if [ -f .gpu-data/xray-4class/split.csv ]; then
  step 07-train-xray 150 bash -c '
    set -e; r=$OUT/run
    bash .gpu/java.sh org.pulmo.examples.Main train --model dpn92-se --data .gpu-data/xray-4class --device auto \
      --image-size 224 --batch-size 32 --epochs ${TRAIN_EPOCHS:-4} --out "$r"
    echo "TRAIN metrics:"; cat "$r/metrics.csv"
    echo "RUN record:"; cat "$r/run.json"
    bash .gpu/java.sh org.pulmo.examples.Main evaluate -c "$r/best.safetensors" --data .gpu-data/xray-4class --device cuda --out "$OUT/eval"
    img=$(ls .gpu-data/xray-4class/covid/*.jpg | head -n 1)
    bash .gpu/java.sh org.pulmo.examples.Main explain -c "$r/best.safetensors" "$img" --samples 64 --device cuda --out "$OUT/explain"
    ls -la "$OUT/explain"'
fi

# 05b: the kernel and whole-model parity again, asynchronous this time (02, 03 and 05 wait after every launch, 09 runs
# under the sanitizer, in step, as the emulator computes each kernel at its launch), with every block handed
# out filled with NaN: a buffer read back, reused or freed before the device is done with it shows here.
step 05b-async-parity 150 env JAVA_OPTS=-Dpulmo.cuda.poison=true bash .gpu/test.sh --strict \
  --select-class $CK.GpuParityTest --select-class $CK.WholeModelParityTest

# 08: throughput of the ResNet-50 training step (batch 32 at 224, TF32) in a forked JVM, ordinary and recorded as a
# CUDA graph (CapturedStep), side by side in one run: what the host's launches cost the step. The recorded step has
# never run on a GPU, so this comes before the profiles below.
step 08-throughput 110 bash .gpu/java.sh org.openjdk.jmh.Main 'ModelThroughputBench.trainStep' \
  -p device=cuda -p size=paper -p model=resnet50 -p recorded=false,true -f 1 -wi 1 -w 3s -i 2 -r 3s -rf json -rff "$W/08-throughput.json"

# 04b: the papers' three training steps at 224 x 224 recorded as CUDA graphs against ordinary ones (never run on a GPU).
# In a JVM of its own with cuDNN's heuristics: find would time every candidate of every new shape in three directions
# first, which is not what this step measures.
step 04b-recorded-models 120 env JAVA_OPTS="${JAVA_OPTS:-} -Dpulmo.cudnn.algo=heuristic" bash .gpu/test.sh --strict \
  --select-class $CK.RecordedModelsTest

# 06c: the kernels changed since the last GPU run, against the device's copy bandwidth: the elementwise ops on DPN-92-SE's
# maps (the index walk without 64-bit division) and MAB forward and backward per MA-Net stage (FUSED: a warp per plane
# at stages 2-4, beside BLOCK, the block per plane before it).
step 06c-kernels 120 bash .gpu/java.sh org.pulmo.benchmarks.GpuKernelsBench '.*GpuKernelsBench.(elementwise|copy|mabForward|mabBackward)$' \
  -f 0 -wi 1 -w 200ms -i 2 -r 200ms -rf json -rff "$W/06c-kernels.json"

# 06b (last: the longest, and for speed only): where DPN-92-SE's training step spends its time, Pulmo beside PyTorch (benchmarks/gpu-op-profile.sh): host time
# to queue a step against its wall time, the device's time per backend method, PyTorch's kernel time by kind.
step 06b-op-profile 150 env PART_S=45 bash benchmarks/gpu-op-profile.sh ${OP_PROFILE_MODELS:-dpn92-se}

echo "== done at t+$(elapsed)s" | tee -a "$S"
