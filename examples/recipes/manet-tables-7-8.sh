#!/usr/bin/env bash
# MA-Net paper, Tables 7-8: ablations of the loss (CE, CE + cosine similarity, adaptive weights) and of the
# attention blocks (MAB, FAB on/off) of MA-Net on ResNet-50, on a binary CT folder (covid / noncovid).
# Writes runs/manet/table7.md and runs/manet/table8.md in the paper's layout (positive class: covid), Table 8 with a
# plain ResNet-50 trained the same way as its first row (the paper's "neither block" row is the plain backbone; our
# pair run without MAB and FAB, joined by the loss, is a row of its own), and the runs' curves and ROCs side by side in runs/manet/plots/.
#
#   examples/recipes/manet-tables-7-8.sh [DATA] [EPOCHS]
#
# DATA: an image folder (e.g. the SARS-CoV-2 CT-scan set with its split.csv; see the README's "Data sets"),
# default "demo" (the demo data has four classes, so the demo run shows the pipeline, not a binary task).
# EPOCHS: default 120 (the paper's: SGD lr 0.01, momentum 0.9, x0.5 every 30 epochs, batch 16), 3 on the demo data.
# Knobs from the environment: EPOCHS, IMAGE_SIZE (default: 224; 32 on the demo data), DEMO_IMAGES (demo training
# images, default 128), OUT (default runs/manet). A smoke run of the whole recipe:
#   EPOCHS=1 DEMO_IMAGES=32 examples/recipes/manet-tables-7-8.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data="${1:-demo}"
if [ "$data" = demo ]; then epochs="${2:-${EPOCHS:-3}}"; size="${IMAGE_SIZE:-32}"; else epochs="${2:-${EPOCHS:-120}}"; size="${IMAGE_SIZE:-}"; fi
extra=(); [ -n "$size" ] && extra+=(--image-size "$size")
dataopts=(--data "$data"); [ "$data" = demo ] && dataopts+=(--demo-images "${DEMO_IMAGES:-128}")
out="${OUT:-runs/manet}"
binary=(); [ "$data" = demo ] || binary=(--binary)
run() { # name, model, options...
  local name="$1" model="$2"; shift 2
  ./pulmo train --model "$model" "${dataopts[@]}" --epochs "$epochs" "${extra[@]}" --no-evaluate --overwrite --out "$out/$name" "$@"
  ./pulmo evaluate --checkpoint "$out/$name/best.safetensors" "${dataopts[@]}" --out "$out/$name/test"
}
run loss-ce manet-resnet50 --manet-loss ce
run loss-ce-cs manet-resnet50 --manet-loss ce-cs
run full manet-resnet50                     # adaptive loss, MAB and FAB: the full MA-Net
run no-fab manet-resnet50 --no-fab          # MAB only
# (no FAB-only run: the paper's Table 8 has none, and ours, FAB fusing the main path's own map, does not train:
# docs/FIDELITY.md; run it by hand with --no-mab)
run no-mab-no-fab manet-resnet50 --no-mab --no-fab
run resnet50 resnet50 --augmentation ma-net # plain ResNet-50 trained as MA-Net is (its defaults are DPN-SENet's otherwise)
./pulmo table "${binary[@]}" --title "Table 7 layout: loss functions (MA-Net, ResNet-50, $data)" \
  --row "CE=$out/loss-ce/test" --row "CE + CS=$out/loss-ce-cs/test" --row "Adaptive=$out/full/test" --out "$out/table7.md" --overwrite
./pulmo table "${binary[@]}" --title "Table 8 layout: attention blocks (MA-Net, ResNet-50, $data)" \
  --row "ResNet-50=$out/resnet50/test" --row "pair, no MAB or FAB (not the paper's row)=$out/no-mab-no-fab/test" --row "MAB only=$out/no-fab/test" \
  --row "MAB + FAB=$out/full/test" --out "$out/table8.md" --overwrite
# the runs' curves and ROCs side by side: runs/manet/plots/{val_accuracy,train_loss,val_loss,roc}.png
./pulmo plot --out "$out/plots" --overwrite --compare "ResNet-50=$out/resnet50" --compare "CE=$out/loss-ce" --compare "CE + CS=$out/loss-ce-cs" \
  --compare "MAB only=$out/no-fab" --compare "pair, no MAB or FAB=$out/no-mab-no-fab" --compare "MA-Net=$out/full"
