#!/usr/bin/env bash
# Makes the GPU bundle (.gpu/, from ../shared/gpu/bundle.sh) smaller for runs that carry a data set too: drops JCuda's
# PTX-compiler natives (libJNvPTXCompiler, 24 MB unpacked, 8.5 MiB in the jar), which Pulmo never loads (its kernels
# are compiled by nvcc during the build), from the jcuda-natives jar. Run after every bundle.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .gpu/jars ] || { echo "gpu-slim: no .gpu/jars here; run ../shared/gpu/bundle.sh first" >&2; exit 1; }
# sizes as the device counts them: the bytes of the files (du's blocks overstate a folder of small files)
mib() { du -cb --apparent-size "$@" 2>/dev/null | tail -1 | awk '{printf "%.1f", $1 / 1048576}'; }
before=$(mib .gpu)
for jar in .gpu/jars/jcuda-natives-*.jar; do
  [ -f "$jar" ] || continue
  # grep reads the whole listing: with -q it may stop early, unzip then dies of SIGPIPE, and pipefail made the test false
  if unzip -l "$jar" | grep 'libJNvPTXCompiler' >/dev/null; then
    if command -v zip >/dev/null; then
      zip -q -d "$jar" 'lib/libJNvPTXCompiler*'
    else   # no zip: rewrite the jar without those entries
      python3 - "$jar" <<'PY'
import sys, zipfile, os
src = sys.argv[1]; tmp = src + ".tmp"
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        if "libJNvPTXCompiler" not in item.filename:
            zout.writestr(item, zin.read(item.filename))
os.replace(tmp, src)
PY
    fi
  fi
done
tree=$(git ls-files -z | xargs -0 du -cb --apparent-size 2>/dev/null | tail -1 | awk '{printf "%.1f", $1 / 1048576}')
echo "gpu-slim: .gpu ${before} MiB -> $(mib .gpu) MiB; the tracked tree ${tree} MiB; with it and each data set in .gpu-data:"
for d in .gpu-data/*/; do
  [ -d "$d" ] && echo "  $d $(mib "$d") MiB: $(mib .gpu "$d" $(git ls-files) ) MiB in all (the device takes 64)"
done
[ -d .gpu-data ] && echo "  all of .gpu-data: $(mib .gpu .gpu-data $(git ls-files)) MiB in all"
true
