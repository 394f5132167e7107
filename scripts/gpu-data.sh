#!/usr/bin/env bash
# Packs a data set for the GPU machine's training step of scripts/gpu-verify.sh into .gpu-data/ (git-ignored,
# sent along beside .gpu/; the GPU machine takes 64 MiB in all, the bundle about 47 of them).
#   scripts/gpu-data.sh DATA_DIR [NAME]     e.g. scripts/gpu-data.sh ~/data/xray-4class xray-4class
# DATA_DIR is a folder the `--data` option reads (split.csv, train/ and test/, or class folders).
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: scripts/gpu-data.sh DATA_DIR [NAME]}
name=${2:-$(basename "$src")}
[ -d "$src" ] || { echo "gpu-data: no folder $src" >&2; exit 1; }
grep -qx '/.gpu-data/' .git/info/exclude 2>/dev/null || echo '/.gpu-data/' >>.git/info/exclude
rm -rf ".gpu-data/$name"; mkdir -p .gpu-data
cp -r "$src" ".gpu-data/$name"
echo "gpu-data: .gpu-data/$name, $(du -sh ".gpu-data/$name" | cut -f1); carry .gpu-data beside .gpu"
