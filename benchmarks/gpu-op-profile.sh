#!/usr/bin/env bash
# Where a training step's time goes on the GPU, Pulmo beside PyTorch, for one or more models, in one run on the GPU
# machine (about 60-90 s a model). Here first: ../shared/gpu/bundle.sh, then send .gpu along and run from the
# repository root there:   bash benchmarks/gpu-op-profile.sh [MODEL...]   (default dpn92-se)
# Per model, each part under its own time limit (PART_S, default 150):
#   1. steps: MockGpuSteps at the papers' size on the real device: each step's wall time against the host's time to
#      queue it (copy, forward, backward, SGD) and its launches, synchronisations and copies. Host time near the
#      wall time means the host bounds the step (launch overhead: CUDA graphs would pay); far below, the kernels do.
#   2. pulmo: TrainingStepProfile MODEL 32 224 (MA-Net 16 pairs) on cuda: s/step, then the device's time per
#      backend method with every op waiting for the device.
#   3. torch: benchmarks/torch_op_profile.py, PyTorch's CUDA kernel time per step by kind and its top kernels, same
#      step and precision (TF32; PRECISION=fp32 for strict).
#   4. benchmarks/op_profile_table.py: the two per kind of op, side by side, with the ratio.
# Output in $OUT (default benchmarks/target/gpu-op-profile): MODEL-steps.log, MODEL-pulmo.log, MODEL-torch.log,
# torch_op_profile_*.json and MODEL-kinds.md. Knobs: PRECISION, PART_S, PROFILE_STEPS (profiled steps, default 3), PYTHON, ANCHORS.
set -uo pipefail
out=${OUT:-benchmarks/target/gpu-op-profile}
gpu=.gpu
[ -f "$gpu/java.sh" ] || { echo "gpu-op-profile: no $gpu bundle here; run ../shared/gpu/bundle.sh and send .gpu along" >&2; exit 2; }
mkdir -p "$out"
anchors=${ANCHORS:-$gpu/anchors}
[ -f "$anchors/bench_train.py" ] || anchors=../shared/anchors
py=${PYTHON:-$( [ -x /opt/torch/.venv/bin/python3 ] && echo /opt/torch/.venv/bin/python3 || echo python3 )}
prec=${PRECISION:-tf32}
steps=${PROFILE_STEPS:-3}
limit=${PART_S:-150}
strict=$( [ "$prec" = fp32 ] && echo true || echo false )
java=(bash "$gpu/java.sh" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m -XX:+UseParallelGC)
rc=0
part() {   # part NAME COMMAND...: runs it with the time limit, logs to $out/NAME.log, remembers a failure
  local name=$1; shift
  echo "== $name ($(date -u +%H:%M:%S), limit ${limit}s)"
  # --foreground: the part stays in this script's process group, so a step limit that kills the script kills it too
  timeout --foreground --kill-after=10 "$limit" "$@" >"$out/$name.log" 2>&1
  local r=$?
  grep -v -E '^(WARNING|\[cuda-env\]|\[java.sh\])' "$out/$name.log" | tail -n 40
  [ $r -eq 0 ] || { echo "== $name failed (exit $r)"; rc=1; }
}
for model in "${@:-dpn92-se}"; do
  case $model in
    dpn92-se|dpn92se) jm=dpn92-se; tm=dpn92se; batch=32 ;;
    resnet50) jm=resnet50; tm=resnet50; batch=32 ;;
    ma-net-resnet50|manet-resnet50|manet) jm=ma-net-resnet50; tm=manet; batch=16 ;;
    *) echo "gpu-op-profile: unknown model $model (dpn92-se, resnet50, ma-net-resnet50)" >&2; rc=2; continue ;;
  esac
  pm=$( [ "$jm" = ma-net-resnet50 ] && echo manet-resnet50 || echo "$jm" )   # ModelWorkload's name
  part "$jm-steps" "${java[@]}" -Dpulmo.cuda.strictFp32="$strict" org.pulmo.examples.MockGpuSteps 8 224 "$batch" "$jm"
  part "$jm-pulmo" "${java[@]}" -Dpulmo.cuda.strictFp32="$strict" org.pulmo.benchmarks.TrainingStepProfile "$pm" "$batch" 224 "$steps" 3 cuda
  part "$jm-torch" "$py" benchmarks/torch_op_profile.py --anchors "$anchors" --model "$tm" --mode "$prec" --steps "$steps" \
    --json "$out/torch_op_profile_${tm}_${prec}.json"
  if [ -f "$out/torch_op_profile_${tm}_${prec}.json" ]; then   # 4. the two side by side, per kind of op
    echo "== $jm: Pulmo and PyTorch per kind of op"
    "$py" benchmarks/op_profile_table.py "$out/$jm-pulmo.log" "$out/torch_op_profile_${tm}_${prec}.json" "$out/$jm-kinds.md" || rc=1
  fi
done
exit $rc
