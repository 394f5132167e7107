#!/usr/bin/env bash
# PyTorch <-> Pulmo weights, both ways, with the logits compared number by number.
#
#   scripts/torch-roundtrip.sh [MODEL...]    MODEL: resnet50 manet-resnet50 dpn92 dpn92-se (default: all four)
#
# Needs Python with PyTorch and torchvision ($PYTHON, default python3); no other package (safetensors files are
# read and written by scripts/torch_roundtrip.py itself). Builds examples/target/pulmo.jar when it is missing or
# older than the sources. Work files go to $ROUNDTRIP_DIR (default: a new temporary folder, removed at the end).
# About 10 minutes on two busy CPU cores for all four models.
#
# For each model:
#  1. PyTorch -> Pulmo: a seeded PyTorch model (1000 classes; BatchNorm weights drawn away from 1 and 0, running
#     statistics from three train-mode passes) is saved as safetensors and loaded by the code of
#     `pulmo train --init-from`; Pulmo's eval-mode logits on a [2, 3, 64, 64] input must equal PyTorch's.
#     MA-Net loads the ResNet-50 file into its backbone; DPN-92-SE loads a DPN-92-SE file (SE weights included).
#  2. Pulmo -> PyTorch: `pulmo train --init-from` the 1000-class file on the demo data (its classifier starts
#     afresh for the 4 demo classes; DPN-92-SE starts from a plain DPN-92 file, so its SE layers keep their own
#     initialisation), one epoch of 64 images at 32 x 32; `pulmo export`; PyTorch's load_state_dict(strict=True) into
#     torchvision's resnet50 (also for MA-Net, whose export is its backbone) or DPN-92(-SE) with timm's names;
#     the eval-mode logits must equal those of Pulmo's checkpoint.
# Last, a ResNet-50 file given to dpn92 must be refused (exit code 2). Exit code 0 when everything held.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/jdk.sh
PYTHON=${PYTHON:-python3}
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(resnet50 manet-resnet50 dpn92 dpn92-se)

"$PYTHON" -c 'import torch, torchvision' 2>/dev/null \
  || { echo "torch-roundtrip: $PYTHON cannot import torch and torchvision (set PYTHON to one that can)" >&2; exit 1; }
jar=examples/target/pulmo.jar
if [ ! -f "$jar" ] || [ -n "$(find . -path ./.git -prune -o -path '*/target' -prune -o \
      \( -name '*.java' -o -name 'pom.xml' \) -newer "$jar" -print -quit)" ]; then
  echo "torch-roundtrip: building $jar (mvn -DskipTests package) ..." >&2
  mvn -B -q -ntp -DskipTests -pl examples -am package >&2
fi
if [ -n "${ROUNDTRIP_DIR:-}" ]; then work=$ROUNDTRIP_DIR; mkdir -p "$work"
else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
java=("$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED $(grep -v '^#' scripts/java-options) ${PULMO_JAVA_OPTS:-})
# Java's stderr without the JVM's note on the Vector API; the exit code is Java's.
jrun() { { "${java[@]}" "$@" 2>&1 1>&3 3>&- | { grep -v 'Using incubator modules' || true; } >&2; } 3>&1; }
pulmo() { jrun -jar "$jar" "$@"; }
logits() { jrun -cp "$jar" org.pulmo.examples.TorchRoundTrip "$@"; }
py() { "$PYTHON" scripts/torch_roundtrip.py "$@"; }

# The PyTorch model whose state dict a Pulmo model loads (1) and whose file it starts training from (2).
source_of() { case $1 in resnet50|manet-resnet50) echo resnet50 ;; dpn92|dpn92-se) echo "$1" ;; *) echo "unknown" ;; esac; }
start_of() { case $1 in resnet50|manet-resnet50) echo resnet50 ;; dpn92|dpn92-se) echo dpn92 ;; esac; }
torch_file() { # seeded PyTorch weights of $1 (made once)
  [ -f "$work/torch-$1.safetensors" ] || py make --model "$1" --weights "$work/torch-$1.safetensors"
}

for m in "${models[@]}"; do
  [ "$(source_of "$m")" != unknown ] || { echo "torch-roundtrip: unknown model $m (resnet50, manet-resnet50, dpn92, dpn92-se)" >&2; exit 2; }
done
rm -f "$work/summary.txt"
[ -f "$work/input.safetensors" ] || py make --model resnet50 --weights "$work/torch-resnet50.safetensors" --input "$work/input.safetensors"
failed=0
for m in "${models[@]}"; do
  src=$(source_of "$m")
  echo "=== $m"
  # 1. PyTorch -> Pulmo
  torch_file "$src"
  logits --model "$m" --init-from "$work/torch-$src.safetensors" --input "$work/input.safetensors" --out "$work/pulmo-$m.safetensors"
  py check --model "$m" --weights "$work/torch-$src.safetensors" --input "$work/input.safetensors" \
    --logits "$work/pulmo-$m.safetensors" --what "PyTorch -> Pulmo" --summary "$work/summary.txt" || failed=1
  # 2. Pulmo -> PyTorch
  start=$(start_of "$m")
  torch_file "$start"
  run="$work/run-$m"
  pulmo train --model "$m" --data demo --demo-images 64 --batch-size 8 --epochs 1 --image-size 32 --lr 0.001 --no-evaluate \
    --init-from "$work/torch-$start.safetensors" --out "$run" --overwrite > "$work/train-$m.log" 2>&1 || { cat "$work/train-$m.log"; echo "torch-roundtrip: training $m failed" >&2; exit 1; }
  sed -n '/^Initialised/,/^Training/p' "$work/train-$m.log" | sed '$d'
  pulmo export -c "$run/last.safetensors" -o "$work/export-$m.safetensors" --overwrite
  logits -c "$run/last.safetensors" --input "$work/input.safetensors" --out "$work/pulmo-ckpt-$m.safetensors"
  py check --model "$m" --weights "$work/export-$m.safetensors" --input "$work/input.safetensors" \
    --logits "$work/pulmo-ckpt-$m.safetensors" --what "Pulmo -> PyTorch" --summary "$work/summary.txt" || failed=1
done

echo "=== refusal: a ResNet-50 file for dpn92"
torch_file resnet50
set +e
pulmo train --model dpn92 --data demo --demo-images 64 --batch-size 8 --epochs 1 --image-size 32 --init-from "$work/torch-resnet50.safetensors" \
  --out "$work/run-refused" > "$work/refused.log" 2>&1
rc=$?
set -e
tail -n 1 "$work/refused.log"
if [ "$rc" -eq 2 ] && grep -q 'Nothing was loaded' "$work/refused.log"; then
  echo "refused with exit code 2: ok" | tee -a "$work/summary.txt"
else
  echo "NOT refused as expected (exit code $rc)" | tee -a "$work/summary.txt"; failed=1
fi

echo "=== summary (max |Pulmo - PyTorch| relative to max |logit|)"
cat "$work/summary.txt"
exit $failed
