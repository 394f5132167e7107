#!/usr/bin/env bash
# The papers' training runs on a GPU machine, a few rows at a time: each row is one run of the tables at the papers'
# settings (examples/recipes/ has the same runs for any machine), trained, evaluated on the test split and explained
# (Grad-CAM of the first test image of each class) on cuda.
#
#   Here:        ../shared/gpu/bundle.sh && scripts/gpu-slim.sh
#                SHORT_SIDE=224 QUALITY=0.75 scripts/gpu-data.sh ../shared/data/ct-sarscov2     (MA-Net rows)
#                SHORT_SIDE=224 scripts/gpu-data.sh ../shared/data/xray-4class                  (DPN rows)
#   GPU machine: bash scripts/gpu-reproduce.sh ROW...   with .gpu and .gpu-data carried; OUT is where results go.
#
# Rows (224 x 224; DPN: the paper's 100 epochs, Departure: batch 32 (the paper gives none; the CLI's default and the CPU recipe's
# is 16: 32 fills the GPU better, and every DPN row takes it, so the rows compare as trained alike); MA-Net: the
# paper's 120 epochs, SGD 0.01, momentum 0.9, x0.5 every 30 epochs (our reading of eq. 17), batch 16 pairs):
#   dpn92-none dpn92-aug dpn92se-none dpn92se-aug          DPN-SENet Tables 1-3 (xray-4class; aug = the paper's)
#   resnet50 manet-full manet-ce manet-ce-cs manet-no-fab manet-no-mab-no-fab
#                                                          MA-Net Tables 7-8 (ct-sarscov2, binary)
#                                                          Departure: the paper's Tables 7-8 are on its dataset-B;
#                                                          ct-sarscov2 is its dataset D (docs/FIDELITY.md)
#   manet-no-mab                                           FAB without MAB: not in the paper's Table 8, and it does
#                                                          not train on the CPU (docs/FIDELITY.md); by name only
# Each row's training stops at ROW_S seconds (default: what is left of BUDGET_S, default 480, less 90 s kept for the
# evaluation and Grad-CAM) with its last finished epoch kept and a line saying so; a later call with the same row on
# the same machine (its run folder stays in $TMPDIR/pulmo-reproduce while the machine is held) resumes it. The
# checkpoints do not come back: a run must finish on the machine it started on.
# Results: $OUT/reproduce.tgz (every row's run.json (seed, settings, wall time, images/s, peak device memory),
# metrics.csv/json, report.txt, test metrics, Grad-CAM PNGs and logs, and the papers' table layouts of the rows
# evaluated so far: dpn-senet-tables-1-3.md, manet-table7.md, manet-table8.md; no checkpoints, which are too big to
# come back) and $OUT/SUMMARY.txt. A GPU machine without fonts draws no PNG plots (Grad-CAM overlays lose only their
# titles): unpack reproduce.tgz here and run ./pulmo plot on the row folders to draw them.
# Knobs: EPOCHS (override, for a short check), BUDGET_S, ROW_S, SEED (default 42, the CLI's), CUDA_GRAPHS=1 (training
# steps recorded as CUDA graphs: --cuda-graphs; the same results, see benchmarks/RESULTS.md).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/pulmo-reproduce-out}
W=${TMPDIR:-/tmp}/pulmo-reproduce
mkdir -p "$W" "$OUT"
BUDGET_S=${BUDGET_S:-480}   # a device command may run 600 s; JVM starts and packing need the rest
T0=$(date +%s)
S=$OUT/SUMMARY.txt
pulmo=(bash .gpu/java.sh org.pulmo.examples.Main)
[ -f .gpu/java.sh ] || { echo "gpu-reproduce: no .gpu bundle here; run ../shared/gpu/bundle.sh and send .gpu along" >&2; exit 2; }
[ $# -gt 0 ] || { sed -n '2,/^set -u/p' "$0" | sed '$d'; exit 2; }
echo "pulmo gpu-reproduce $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), rows: $*" | tee "$S"

pack() { tar -C "$W" --exclude='*.safetensors' -czf "$OUT/reproduce.tgz.part" . 2>/dev/null && mv "$OUT/reproduce.tgz.part" "$OUT/reproduce.tgz"; }
trap pack EXIT

left() { echo $(( BUDGET_S - ($(date +%s) - T0) )); }

# The last epoch of a run's metrics.csv in a line: its speed, and how much of it went waiting for the data loader
# (columns read by name; data_wait_s is "?" in files written before it existed).
last_epoch() {
  [ -f "$1" ] || return 0
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
           { e = $(c["epoch"]); r = $(c["images_per_s"]); s = $(c["seconds"]); a = $(c["val_acc"]); w = ("data_wait_s" in c) ? $(c["data_wait_s"]) : "" }
           END { if (e != "") printf "   > last epoch %s: %s images/s, %s s, %s s of it waiting for data, validation accuracy %s\n", e, r, s, (w == "" ? "?" : w), a }' "$1"
}

# The run's record (run.json, pretty-printed by the trainer) in a line: outcome, epochs, wall time, speed, device peak.
run_record() {
  [ -f "$1" ] || return 0
  awk '/^  "(status|epochs_done|wall_seconds|images_per_s|device_peak_mib)": / {
         k = $1; gsub(/[":]/, "", k); v = $0; sub(/^[^:]*: /, "", v); gsub(/[",]/, "", v); r[k] = v }
       END { printf "   > run.json: %s, %s epochs, wall %s s, %s images/s, device peak %s MiB\n",
               r["status"], r["epochs_done"], r["wall_seconds"], r["images_per_s"], r["device_peak_mib"] }' "$1"
}

row() {   # row NAME DATA EPOCHS BATCH TRAIN-OPTIONS...
  local name=$1 data=$2 epochs=${EPOCHS:-$3} batch=$4; shift 4
  local left; left=$(left)
  if [ ! -d ".gpu-data/$data" ]; then echo "== $name SKIPPED: no .gpu-data/$data (scripts/gpu-data.sh)" | tee -a "$S"; return; fi
  if [ "$left" -lt 150 ]; then echo "== $name SKIPPED: budget spent" | tee -a "$S"; return; fi
  local limit=$(( left - 90 ))   # 90 s kept for evaluate and Grad-CAM (two JVM and CUDA starts each)
  [ -n "${ROW_S:-}" ] && [ "$ROW_S" -lt "$limit" ] && limit=$ROW_S
  local run=$W/$name resume=()
  # --resume also where only run.json is there (a row stopped in its first epoch starts again in its folder, not in a <name>2)
  { [ -f "$run/last.safetensors" ] || [ -f "$run/run.json" ]; } && resume=(--resume)
  echo "== $name: $data, $epochs epochs, batch $batch, $* (training limit ${limit}s, start t+$(( $(date +%s) - T0 ))s)" | tee -a "$S"
  local t; t=$(date +%s)
  # SIGINT at the limit: the trainer finishes its batch, keeps the last finished epoch and says how to resume (its
  # Ctrl-C path); --foreground sends it once, to the JVM alone (a second one would make it quit at once)
  timeout --foreground --signal=INT --kill-after=30 "$limit" "${pulmo[@]}" train "$@" --data ".gpu-data/$data" --device cuda \
    --image-size 224 --batch-size "$batch" --epochs "$epochs" --seed "${SEED:-42}" --no-evaluate --out "$run" \
    ${resume[@]+"${resume[@]}"} ${CUDA_GRAPHS:+--cuda-graphs} >"$W/$name.train.log" 2>&1
  local rc=$?
  echo "   train exit $rc after $(( $(date +%s) - t ))s; $(grep -c '^epoch ' "$W/$name.train.log") epoch lines" | tee -a "$S"
  grep -E 'took|Interrupted|Error|error:|pulmo:' "$W/$name.train.log" | tail -n 3 | cut -c1-250 | sed 's/^/   > /' | tee -a "$S"
  last_epoch "$run/metrics.csv" | tee -a "$S"
  run_record "$run/run.json" | tee -a "$S"
  pack
  [ -f "$run/best.safetensors" ] || return
  left=$(left); [ "$left" -gt 10 ] || return
  timeout --kill-after=10 "$left" "${pulmo[@]}" evaluate -c "$run/best.safetensors" --data ".gpu-data/$data" --device cuda \
    --out "$run/test" --overwrite >"$W/$name.eval.log" 2>&1
  grep -iE 'accuracy|auc|sensitivity|specificity' "$W/$name.eval.log" | head -n 6 | sed 's/^/   > /' | tee -a "$S"
  pack
  # Grad-CAM of the first test image of each class, in one call (one JVM and CUDA start)
  local cls img imgs=()
  for cls in $(ls ".gpu-data/$data" | grep -v '\.'); do
    img=$(grep ",$cls,test" ".gpu-data/$data/split.csv" 2>/dev/null | head -n 1 | cut -d, -f1)
    [ -n "$img" ] && imgs+=(".gpu-data/$data/$img")
  done
  left=$(left)
  [ "$left" -gt 10 ] && [ ${#imgs[@]} -gt 0 ] && timeout --kill-after=10 "$left" "${pulmo[@]}" explain -c "$run/best.safetensors" \
    "${imgs[@]}" --method gradcam --device cuda --out "$run/gradcam" --overwrite >>"$W/$name.explain.log" 2>&1
  pack
}

for r in "$@"; do
  case $r in
    dpn92-none) row "$r" xray-4class 100 32 --model dpn92 --augmentation none ;;
    dpn92-aug) row "$r" xray-4class 100 32 --model dpn92 --augmentation dpn-senet ;;
    dpn92se-none) row "$r" xray-4class 100 32 --model dpn92-se --augmentation none ;;
    dpn92se-aug) row "$r" xray-4class 100 32 --model dpn92-se --augmentation dpn-senet ;;
    resnet50) row "$r" ct-sarscov2 120 16 --model resnet50 --augmentation resize --schedule step ;;   # trained as MA-Net is
    manet-full) row "$r" ct-sarscov2 120 16 --model manet-resnet50 ;;
    manet-ce) row "$r" ct-sarscov2 120 16 --model manet-resnet50 --manet-loss ce ;;
    manet-ce-cs) row "$r" ct-sarscov2 120 16 --model manet-resnet50 --manet-loss ce-cs ;;
    manet-no-mab) row "$r" ct-sarscov2 120 16 --model manet-resnet50 --no-mab ;;
    manet-no-fab) row "$r" ct-sarscov2 120 16 --model manet-resnet50 --no-fab ;;
    manet-no-mab-no-fab) row "$r" ct-sarscov2 120 16 --model manet-resnet50 --no-mab --no-fab ;;
    *) echo "== $r: unknown row (see the header)" | tee -a "$S" ;;
  esac
done
# The papers' table layouts from every row evaluated so far on this machine (pulmo table), into the results.
table() {   # table FILE TITLE [--binary] -- LABEL=ROW...
  local file=$1 title=$2 opts=() rows=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  local r
  for r in "$@"; do [ -f "$W/${r#*=}/test/metrics.json" ] && rows+=(--row "${r%%=*}=$W/${r#*=}/test"); done
  [ ${#rows[@]} -gt 0 ] || return 0
  timeout 60 "${pulmo[@]}" table --title "$title" ${opts[@]+"${opts[@]}"} "${rows[@]}" --out "$W/$file" --overwrite >/dev/null 2>&1 \
    && echo "== $file: $(( ${#rows[@]} / 2 )) rows" | tee -a "$S"
}
table dpn-senet-tables-1-3.md "DPN-92 vs DPN-92-SE on xray-4class (DPN-SENet Tables 1-3 layout)" --positive auto -- \
  "DPN-92, no augmentation=dpn92-none" "DPN-92, augmentation=dpn92-aug" "DPN-92-SE, no augmentation=dpn92se-none" \
  "DPN-92-SE, augmentation=dpn92se-aug"
table manet-table7.md "Table 7 layout: loss functions (MA-Net, ResNet-50, ct-sarscov2)" --binary -- \
  "CE=manet-ce" "CE + CS=manet-ce-cs" "Adaptive=manet-full"
table manet-table8.md "Table 8 layout: attention blocks (MA-Net, ResNet-50, ct-sarscov2)" --binary -- \
  "ResNet-50=resnet50" "pair, no MAB or FAB (not the paper's row)=manet-no-mab-no-fab" "MAB only=manet-no-fab" \
  "MAB + FAB=manet-full"
pack
echo "== done at t+$(( $(date +%s) - T0 ))s" | tee -a "$S"
