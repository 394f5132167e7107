#!/usr/bin/env bash
# Makes the GPU bundle (.gpu/, from ../shared/gpu/bundle.sh) smaller for runs that carry a data set too: drops JCuda's
# PTX-compiler natives (libJNvPTXCompiler, 24 MB unpacked, 8.5 MiB in the jar), which Pulmo never loads (its kernels
# are compiled by nvcc during the build), from the jcuda-natives jar. Run after every bundle.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .gpu/jars ] || { echo "gpu-slim: no .gpu/jars here; run ../shared/gpu/bundle.sh first" >&2; exit 1; }
before=$(du -sm .gpu | cut -f1)
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
echo "gpu-slim: .gpu ${before} MiB -> $(du -sm .gpu | cut -f1) MiB; with .gpu-data: $(du -smc .gpu .gpu-data 2>/dev/null | tail -1 | cut -f1) MiB (device limit 64 with the rest of the tree)"
