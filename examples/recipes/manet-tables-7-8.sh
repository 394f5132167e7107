#!/usr/bin/env bash
# MA-Net paper, Tables 7-8: ablations of the loss (CE, CE + cosine similarity, adaptive weights) and of the
# attention blocks (MAB, FAB on/off) of MA-Net on ResNet-50, on a binary CT folder (covid / noncovid).
# Writes runs/manet/table7.md and runs/manet/table8.md in the paper's layout (positive class: covid), Table 8 with a
# plain ResNet-50 trained the same way as its first row (the paper's "neither block" row is the plain backbone; our
# pair run without MAB and FAB, joined by the loss, is a row of its own), and the runs' curves and ROCs side by side in runs/manet/plots/.
#
#   examples/recipes/manet-tables-7-8.sh [DATA] [EPOCHS]
#
# Departure: the paper runs Tables 7-8 on its dataset-B; the CT set at hand is dataset D (SARS-CoV-2 CT-scan), so
# the rows compare with one another, not with the paper's figures (docs/FIDELITY.md, "Data set of the ablations").
# DATA: an image folder (e.g. the SARS-CoV-2 CT-scan set with its split.csv; see the README's "Data sets"),
# default "demo" (the demo data has four classes, so the demo run shows the pipeline, not a binary task).
# EPOCHS: default 120 (the paper's: SGD lr 0.01, momentum 0.9, x0.5 every 30 epochs, batch 16), 3 on the demo data.
# Knobs from the environment: EPOCHS, IMAGE_SIZE (default: 224; 32 on the demo data), DEMO_IMAGES (demo training
# images, default 128), OUT (default runs/manet), SEEDS (default 42, the CLI's; several, e.g. SEEDS="42 7 123", train
# every run once per seed into runs/manet/NAME-sSEED, and the tables give each row's mean and spread over the seeds and
# the differences seed by seed; the plots show the first seed's runs). A DATA of other than two classes is refused
# before anything trains (pulmo check-data --classes 2). Run again (after Ctrl-C, a crash, or with a larger EPOCHS),
# the recipe keeps what is done: a finished run is kept (only its test report is made again, from its best
# checkpoint), an interrupted one resumes where it stopped, and a run in OUT trained with other settings is refused,
# naming them (give another OUT, or remove that run's folder). A smoke run of the whole recipe:
#   EPOCHS=1 DEMO_IMAGES=32 examples/recipes/manet-tables-7-8.sh
set -euo pipefail
# a run begun in that folder before (the files train counts as a run's): it goes on with --resume, never into a <run>2
ran() { local f; for f in last.safetensors best.safetensors interrupted.safetensors metrics.csv run.json; do [ -e "$1/$f" ] && return 0; done; return 1; }
caller=$PWD   # DATA and OUT are read from where the recipe is called; the default OUT is in the repository
data="${1:-demo}"
case $data in demo | /*) ;; *) data="$caller/$data" ;; esac
out="${OUT:-runs/manet}"
if [ -n "${OUT:-}" ]; then case $OUT in /*) ;; *) out="$caller/$OUT" ;; esac; fi
cd "$(dirname "$0")/../.."
if [ "$data" = demo ]; then epochs="${2:-${EPOCHS:-3}}"; size="${IMAGE_SIZE:-32}"; else epochs="${2:-${EPOCHS:-120}}"; size="${IMAGE_SIZE:-}"; fi
extra=(); [ -n "$size" ] && extra+=(--image-size "$size")
dataopts=(--data "$data"); [ "$data" = demo ] && dataopts+=(--demo-images "${DEMO_IMAGES:-128}")
binary=(); [ "$data" = demo ] || binary=(--binary)
read -ra given <<<"${SEEDS-42}"   # SEEDS="" is refused below, not taken for the default
seeds=()   # each seed once, in the order given
for s in "${given[@]}"; do case " ${seeds[*]-} " in *" $s "*) ;; *) seeds+=("$s") ;; esac; done
[ ${#seeds[@]} -gt 0 ] || { echo "${0##*/}: SEEDS is empty; give one or more seeds, e.g. SEEDS=\"42 7 123\"" >&2; exit 2; }
# the tables are binary (covid against non-covid): a folder of other than two classes is refused before 6 x 120 epochs
[ "$data" = demo ] || ./pulmo check-data --data "$data" --parts-only --classes 2 >/dev/null
r() { if [ ${#seeds[@]} -gt 1 ]; then echo "$out/$1-s$2"; else echo "$out/$1"; fi; }   # a run's folder: name, seed
run() { # name, seed, model, options...
  local dir; dir=$(r "$1" "$2"); local seed="$2" model="$3"; shift 3
  local resume=(); ran "$dir" && resume=(--resume)   # a run begun before: go on
  ./pulmo train --model "$model" "${dataopts[@]}" --epochs "$epochs" "${extra[@]}" --seed "$seed" --no-evaluate \
    ${resume[@]+"${resume[@]}"} --out "$dir" "$@"
  ./pulmo evaluate --checkpoint "$dir/best.safetensors" "${dataopts[@]}" --out "$dir/test" --overwrite   # the run's own report, renewed
}
t7=() t8=()
for s in "${seeds[@]}"; do
  run loss-ce "$s" manet-resnet50 --manet-loss ce
  run loss-ce-cs "$s" manet-resnet50 --manet-loss ce-cs
  run full "$s" manet-resnet50                     # adaptive loss, MAB and FAB: the full MA-Net
  run no-fab "$s" manet-resnet50 --no-fab          # MAB only
  # (no FAB-only run: the paper's Table 8 has none, and ours, FAB fusing the main path's own map, does not train:
  # docs/FIDELITY.md; run it by hand with --no-mab)
  run no-mab-no-fab "$s" manet-resnet50 --no-mab --no-fab
  run resnet50 "$s" resnet50 --augmentation resize # plain ResNet-50 trained as MA-Net is (its defaults are DPN-SENet's otherwise)
  # one label for every seed: the tables summarise them
  t7+=(--row "CE=$(r loss-ce "$s")/test" --row "CE + CS=$(r loss-ce-cs "$s")/test" --row "Adaptive=$(r full "$s")/test")
  t8+=(--row "ResNet-50=$(r resnet50 "$s")/test" --row "pair, no MAB or FAB (not the paper's row)=$(r no-mab-no-fab "$s")/test"
       --row "MAB only=$(r no-fab "$s")/test" --row "MAB + FAB=$(r full "$s")/test")
done
s="${seeds[0]}"
./pulmo table "${binary[@]}" --title "Table 7 layout: loss functions (MA-Net, ResNet-50, $data)" "${t7[@]}" --out "$out/table7.md" --overwrite
./pulmo table "${binary[@]}" --title "Table 8 layout: attention blocks (MA-Net, ResNet-50, $data)" "${t8[@]}" --out "$out/table8.md" --overwrite
# the runs' curves and ROCs side by side (the first seed's): runs/manet/plots/{val_accuracy,train_loss,val_loss,roc}.png
./pulmo plot --out "$out/plots" --overwrite --compare "ResNet-50=$(r resnet50 "$s")" --compare "CE=$(r loss-ce "$s")" --compare "CE + CS=$(r loss-ce-cs "$s")" \
  --compare "MAB only=$(r no-fab "$s")" --compare "pair, no MAB or FAB=$(r no-mab-no-fab "$s")" --compare "MA-Net=$(r full "$s")"
