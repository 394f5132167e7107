#!/usr/bin/env bash
# Packs a data set for a GPU machine run into .gpu-data/ (git-ignored, sent along beside .gpu/; the GPU machine
# takes 64 MiB in all, the bundle about 48 of them: see scripts/gpu-slim.sh for 8.5 MiB more).
#   scripts/gpu-data.sh DATA_DIR [NAME]     e.g. scripts/gpu-data.sh ../shared/data/xray-4class
# DATA_DIR is a folder the `--data` option reads (split.csv, train/ and test/, or class folders).
# SHORT_SIDE=224 [QUALITY=0.85] re-encodes every image smaller on the way (org.pulmo.data.ShrinkDataset: short side
# scaled down to SHORT_SIDE, grey JPEG at QUALITY, names and split.csv kept): the SARS-CoV-2 CT set (28 MB) becomes
# 17 MB at 224 and 0.85, 13 MB at 0.75. Train at --image-size SHORT_SIDE or less on it.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: [SHORT_SIDE=224 [QUALITY=0.85]] scripts/gpu-data.sh DATA_DIR [NAME]}
name=${2:-$(basename "$src")}
[ -d "$src" ] || { echo "gpu-data: no folder $src" >&2; exit 1; }
grep -qx '/.gpu-data/' .git/info/exclude 2>/dev/null || echo '/.gpu-data/' >>.git/info/exclude
rm -rf ".gpu-data/$name"; mkdir -p .gpu-data
if [ -n "${SHORT_SIDE:-}" ]; then
  . scripts/jdk.sh
  jar=examples/target/pulmo.jar
  # a jar built before ShrinkDataset existed, or none: build it
  unzip -l "$jar" 2>/dev/null | grep 'org/pulmo/data/ShrinkDataset.class' >/dev/null || (mvn -B -q -ntp -DskipTests install >&2)
  "$JAVA_HOME/bin/java" -cp "$jar" org.pulmo.data.ShrinkDataset "$src" ".gpu-data/$name" "$SHORT_SIDE" "${QUALITY:-0.85}"
else
  cp -r "$src" ".gpu-data/$name"
fi
echo "gpu-data: .gpu-data/$name, $(du -sh ".gpu-data/$name" | cut -f1); .gpu-data in all $(du -sh .gpu-data | cut -f1); carry .gpu-data beside .gpu"
