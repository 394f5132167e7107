#!/usr/bin/env bash
# DPN-SENet paper, Tables 1-3: DPN-92 vs DPN-92-SE, each with and without data augmentation, on a 4-class chest
# X-ray folder (covid / normal / bacterial / viral). Writes runs/dpn-senet/table.md in the paper's layout and the
# runs' curves and ROCs (COVID-19 against the rest) side by side in runs/dpn-senet/plots/.
#
#   examples/recipes/dpn-senet-tables-1-3.sh [DATA] [EPOCHS]
#
# DATA: an image folder (split.csv, train/ + test/, or <class>/ folders; see the README's "Data sets"), default
# "demo" (the built-in synthetic images, at 32x32 so it finishes on a CPU). EPOCHS: default 100 (the paper's),
# 5 on the demo data. Every other option is the model's paper default (pulmo train --help).
# Knobs from the environment: EPOCHS, IMAGE_SIZE (default: the model's 224; 32 on the demo data), DEMO_IMAGES
# (demo training images, default 384), OUT (default runs/dpn-senet), SEEDS (default 42, the CLI's; several, e.g.
# SEEDS="42 7 123", train every run once per seed into runs/dpn-senet/MODEL-AUG-sSEED, and the table gives each row's
# mean and spread over the seeds and the differences seed by seed; the plots show the first seed's runs).
# Run again (after Ctrl-C, a crash, or with a larger EPOCHS), the recipe keeps what is done: a finished run is kept
# (only its test report is made again, from its best checkpoint), an interrupted one resumes where it stopped, and a
# run in OUT trained with other settings is refused, naming them (give another OUT, or remove that run's folder).
# A smoke run of the whole recipe:
#   EPOCHS=1 DEMO_IMAGES=32 examples/recipes/dpn-senet-tables-1-3.sh
set -euo pipefail
# a run begun in that folder before (the files train counts as a run's): it goes on with --resume, never into a <run>2
ran() { local f; for f in last.safetensors best.safetensors interrupted.safetensors metrics.csv run.json; do [ -e "$1/$f" ] && return 0; done; return 1; }
caller=$PWD   # DATA and OUT are read from where the recipe is called; the default OUT is in the repository
data="${1:-demo}"
case $data in demo | /*) ;; *) data="$caller/$data" ;; esac
out="${OUT:-runs/dpn-senet}"
if [ -n "${OUT:-}" ]; then case $OUT in /*) ;; *) out="$caller/$OUT" ;; esac; fi
cd "$(dirname "$0")/../.."
if [ "$data" = demo ]; then epochs="${2:-${EPOCHS:-5}}"; size="${IMAGE_SIZE:-32}"; else epochs="${2:-${EPOCHS:-100}}"; size="${IMAGE_SIZE:-}"; fi
extra=(); [ -n "$size" ] && extra+=(--image-size "$size")
dataopts=(--data "$data"); [ "$data" = demo ] && dataopts+=(--demo-images "${DEMO_IMAGES:-384}")
read -ra given <<<"${SEEDS-42}"   # SEEDS="" is refused below, not taken for the default
seeds=()   # each seed once, in the order given
for s in "${given[@]}"; do case " ${seeds[*]-} " in *" $s "*) ;; *) seeds+=("$s") ;; esac; done
[ ${#seeds[@]} -gt 0 ] || { echo "${0##*/}: SEEDS is empty; give one or more seeds, e.g. SEEDS=\"42 7 123\"" >&2; exit 2; }
rows=() compare=()
for seed in "${seeds[@]}"; do
  for model in dpn92 dpn92-se; do
    for aug in none dpn-senet; do
      run="$out/$model-$aug"; [ ${#seeds[@]} -gt 1 ] && run="$run-s$seed"
      resume=(); ran "$run" && resume=(--resume)   # a run begun before: go on
      ./pulmo train --model "$model" "${dataopts[@]}" --augmentation "$aug" --epochs "$epochs" "${extra[@]}" --seed "$seed" --no-evaluate \
        ${resume[@]+"${resume[@]}"} --out "$run"
      ./pulmo evaluate --checkpoint "$run/best.safetensors" "${dataopts[@]}" --out "$run/test" --overwrite   # the run's own report, renewed
      label="$model"; [ "$model" = dpn92-se ] && label="DPN-92-SE" || label="DPN-92"
      [ "$aug" = none ] && label="$label, no augmentation" || label="$label, augmentation"
      rows+=(--row "$label=$run/test")   # one label for every seed: the table summarises them
      if [ "$seed" = "${seeds[0]}" ]; then compare+=(--compare "$label=$run"); fi
    done
  done
done
# Departure: the paper's Table 1 seems to have its column headers swapped (Sec. 4.2's text gives the right-hand group's
# numbers as those with augmentation); compare the 'aug' rows with that group (docs/FIDELITY.md).
# --positive auto: precision, recall and F1 of COVID-19 against the other classes, as the paper's Table 1 counts them
./pulmo table --title "DPN-92 vs DPN-92-SE on $data (Tables 1-3 layout)" --positive auto "${rows[@]}" --out "$out/table.md" --overwrite
# the four runs' curves and ROCs side by side (the first seed's): runs/dpn-senet/plots/{val_accuracy,train_loss,val_loss,roc}.png
./pulmo plot --out "$out/plots" --overwrite "${compare[@]}"
