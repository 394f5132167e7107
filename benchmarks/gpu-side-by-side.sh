#!/usr/bin/env bash
# Pulmo beside PyTorch on one GPU, in one run on the GPU machine (well under its 10 minutes).
# Here first: ../shared/gpu/bundle.sh --jvm-args "--add-modules jdk.incubator.vector", then send .gpu along and
# run from the repository root there:   bash benchmarks/gpu-side-by-side.sh
# Runs, each under its own time limit, so a slow part cannot starve the table:
#   1. ModelThroughputBench on cuda at the papers' sizes (training and inference images/s)  -> pulmo_e2e.json
#   2. PyTorch's reference (anchors/bench_train.py: training, inference, MAB eager)          -> torch_ref.json
#   3. GpuKernelsBench (MAB fused/naive/composed, copy bandwidth, SGEMM vs cuBLAS, cuDNN)     -> pulmo_kernels.json
#   4. SideBySideTable: speed ratios Pulmo/PyTorch                                           -> side_by_side.md
#      and the models' rows as JSON (commit it as benchmarks/results/gpu-side-by-side.json)   -> gpu-side-by-side.json
# Everything goes to $OUT (default benchmarks/target/gpu-side-by-side) with a .log per part.
# Knobs: PRECISIONS (tf32 | fp32 | tf32,fp32; default tf32), RECORDED (false: ordinary steps only, the default; false,true: Pulmo's
# training steps and inference also recorded as CUDA graphs, rows of their own, which doubles part 1: give it E2E_S=330
# and KERNELS_S=0 to stay within a 10-minute command), PYTHON, and per-part limits in seconds
# E2E_S (default 200), TORCH_S (200), KERNELS_S (160: the MAB benchmarks run four versions; 0 skips a part). JMH runs in-process (-f 0) to save JVM and CUDA
# start-ups. Shorter runs: E2E_JMH (default "-wi 1 -w 3s -i 3 -r 3s") and TORCH_ARGS (extra bench_train.py options, e.g.
# "--warmup 5 --steps 20 --sections train,infer").
set -uo pipefail
out=${OUT:-benchmarks/target/gpu-side-by-side}
gpu=.gpu
[ -f "$gpu/java.sh" ] || { echo "gpu-side-by-side: no $gpu bundle here; run ../shared/gpu/bundle.sh and send .gpu along" >&2; exit 2; }
mkdir -p "$out"
anchors=$gpu/anchors
[ -f "$anchors/bench_train.py" ] || anchors=../shared/anchors
py=${PYTHON:-$( [ -x /opt/torch/.venv/bin/python3 ] && echo /opt/torch/.venv/bin/python3 || echo python3 )}
prec=${PRECISIONS:-tf32}
java=(bash "$gpu/java.sh" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
rc=0
part() {   # part NAME SECONDS COMMAND...: runs it with a time limit, logs to $out/NAME.log, remembers a failure
  local name=$1 limit=$2; shift 2
  [ "$limit" -gt 0 ] || { echo "== $name skipped (limit 0)"; return; }
  echo "== $name ($(date -u +%H:%M:%S), limit ${limit}s): $*"
  timeout --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
  local r=$?
  tail -n 25 "$out/$name.log"
  [ $r -eq 0 ] || { echo "== $name failed (exit $r)"; rc=1; }
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /'
part pulmo_e2e "${E2E_S:-200}" "${java[@]}" org.pulmo.benchmarks.ModelThroughputBench -p device=cuda -p size=paper -p precision="$prec" \
  -p recorded="${RECORDED:-false}" \
  -f 0 ${E2E_JMH:--wi 1 -w 3s -i 3 -r 3s} -rf json -rff "$out/pulmo_e2e.json"
part torch "${TORCH_S:-200}" "$py" "$anchors/bench_train.py" --extra --no-compile --modes "$prec" ${TORCH_ARGS:-} --json "$out/torch_ref.json"
part pulmo_kernels "${KERNELS_S:-160}" "${java[@]}" org.pulmo.benchmarks.GpuKernelsBench \
  -f 0 -wi 1 -w 300ms -i 3 -r 300ms -rf json -rff "$out/pulmo_kernels.json"
echo "== table"
timeout 60 "${java[@]}" org.pulmo.benchmarks.SideBySideTable --torch "$out/torch_ref.json" \
  --pulmo "$out/pulmo_e2e.json" --pulmo "$out/pulmo_kernels.json" --out "$out/side_by_side.md" --json "$out/gpu-side-by-side.json" \
  2>&1 | tee "$out/table.log" || rc=1
exit $rc
