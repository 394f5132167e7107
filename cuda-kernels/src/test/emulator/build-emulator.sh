#!/usr/bin/env bash
# Builds the emulated GPU into OUT_DIR: a libcuda.so.1 that is the mock driver of ../shared/gpu/mock-driver with
# cuLaunchKernel running the kernels on the CPU (emu_runtime.cpp), the kernels being the project's .cu files compiled
# for the host (emu_device.h), and a libcudnn.so.9 that is the mock's with the computation added (emu_cudnn.c).
# No libcublas: Pulmo's GEMMs then take the hand-written SGEMM kernel, which the emulator runs.
#   [EMU_RACECHECK=1] [EMU_CONTRACT=1] build-emulator.sh MOCK_DIR CUDA_SOURCE_DIR OUT_DIR
# EMU_RACECHECK=1 also checks every kernel's device-memory accesses for races (emu_runtime.cpp; slower).
# EMU_CONTRACT=1 lets g++ fuse the kernels' a * b + c into fused multiply-adds, as nvcc does (below).
# MOCK_DIR holds what ../shared/gpu/mock-driver/build.sh builds for the kernels (its kinfo.h, which depends on their
# signatures only); built there first when it has no kinfo.h. MOCK_SRC is the mock's source folder (default
# ../shared/gpu/mock-driver beside the project).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${2:?cuda source dir}" && pwd)
out=${3:?out dir}
mock_src=${MOCK_SRC:-$here/../../../../../shared/gpu/mock-driver}
[ -f "${1:?mock build dir}/kinfo.h" ] || bash "$mock_src/build.sh" "$src" "$1" >/dev/null
mock=$(cd "$1" && pwd)
mkdir -p "$out/src"
out=$(cd "$out" && pwd)

# The sources as g++ reads them: dynamic shared memory becomes the emulator's per-launch buffer.
cp "$src"/*.cuh "$out/src/"
kernels=()
for cu in "$src"/*.cu; do
  sed -E 's/extern __shared__ ([A-Za-z_0-9]+) ([A-Za-z_0-9]+)\[\];/\1* \2 = (\1*)emu::dynamic_shared();/' "$cu" >"$out/src/$(basename "$cu")"
  kernels+=($(sed -nE 's/.*extern "C" __global__ void (__launch_bounds__\([0-9, ]+\) )?([A-Za-z_][A-Za-z_0-9]*)\(.*/\2/p' "$cu"))
done
{
  echo '// Written by build-emulator.sh: the project'"'"'s kernels for the host, and their table.'
  echo '#include "emu_device.h"'
  for cu in "$src"/*.cu; do echo "#include \"$(basename "$cu")\""; done
  echo 'extern "C" const emu::Kernel emu_kernels[] = {'
  for k in "${kernels[@]}"; do echo "  {\"$k\", [](void** p) { emu::call($k, p); }},"; done
  echo '  {nullptr, nullptr}};'
} >"$out/src/kernels_host.cpp"

# What does not depend on the kernels' bodies (the mock, the runtime, the emulated cuDNN) is built once into MOCK_DIR/emu
# (not MOCK_DIR itself, where the plain mock's own libraries are) and reused by the later builds beside it, which
# differ in the kernels only (the lane builds seven emulators, the mutant campaign one per planted bug): rebuilt when
# older than one of its sources, this script or the mock's kinfo.h.
# once OUTPUT SOURCE... -- COMMAND...: runs COMMAND -o OUTPUT unless OUTPUT is newer than every SOURCE.
once() {
  local o=$1 fresh=true; shift
  while [ "$1" != -- ]; do { [ -f "$o" ] && [ "$o" -nt "$1" ]; } || fresh=false; shift; done; shift
  $fresh || { "$@" -o "$o.$$" && mv -f "$o.$$" "$o"; }
}
shared="$mock/emu"
mkdir -p "$shared"
once "$shared/mock_cuda.o" "$mock_src/mock_cuda.c" "$mock/kinfo.h" "$here/build-emulator.sh" -- \
  gcc -c -fPIC -O1 -I"$mock" -DcuLaunchKernel=mock_cuLaunchKernel -DcuDeviceGetName=mock_cuDeviceGetName \
  -DcuMemAlloc_v2=mock_cuMemAlloc_v2 -DcuMemFree_v2=mock_cuMemFree_v2 \
  -DcuMemcpyHtoDAsync_v2=mock_cuMemcpyHtoDAsync_v2 -DcuMemsetD32Async=mock_cuMemsetD32Async -DcuStreamSynchronize=mock_cuStreamSynchronize \
  -DcuCtxSynchronize=mock_cuCtxSynchronize -DcuMemcpyDtoH_v2=mock_cuMemcpyDtoH_v2 "$mock_src/mock_cuda.c"
once "$shared/emu_runtime.o" "$here/emu_runtime.cpp" "$here/emu_device.h" "$mock/kinfo.h" "$here/build-emulator.sh" -- \
  g++ -c -fPIC -O2 -std=c++20 -I"$here" "$here/emu_runtime.cpp"
# EMU_RACECHECK=1: every load and store of the kernels reports to emu_runtime.cpp's race check (its header says how).
race=(); [ "${EMU_RACECHECK:-}" = 1 ] && race=(-fsanitize=thread)
# The kernels' fmaf as the CPU's own instruction where it has one, instead of a call into libm (the same correctly rounded
# result); -ffp-contract=off keeps g++ from fusing a * b + c the kernels wrote apart, so the arithmetic is as before.
# EMU_CONTRACT=1 lets g++ fuse them, as nvcc does by default (--fmad=true): the kernels' sums then round as on a GPU
# in kind (g++ and nvcc need not fuse the same ones), which the tests' tolerances must allow for.
fma=(); grep -qw fma /proc/cpuinfo 2>/dev/null && fma=(-mfma -ffp-contract=off)
if [ "${EMU_CONTRACT:-}" = 1 ]; then
  [ ${#fma[@]} -gt 0 ] || { echo "build-emulator: EMU_CONTRACT=1 needs a CPU with FMA instructions" >&2; exit 2; }
  fma=(-mfma -ffp-contract=fast)
fi
g++ -c -fPIC -O2 -std=c++20 ${fma[@]+"${fma[@]}"} ${race[@]+"${race[@]}"} -I"$here" -I"$out/src" -o "$out/kernels_host.o" "$out/src/kernels_host.cpp"
g++ -shared -fPIC -o "$out/libcuda.so.1" -Wl,-soname,libcuda.so.1 "$shared/mock_cuda.o" "$out/kernels_host.o" "$shared/emu_runtime.o" -lpthread
ln -sf libcuda.so.1 "$out/libcuda.so"
# The emulated cuDNN finds the libcuda.so.1 beside it ($ORIGIN), whichever build it was linked with.
once "$shared/libcudnn.so.9" "$here/emu_cudnn.c" "$mock_src/mock_cudnn.c" "$mock/kinfo.h" "$here/build-emulator.sh" -- \
  gcc -shared -fPIC -O3 -march=native -fopenmp-simd -I"$mock_src" -Wl,-soname,libcudnn.so.9 "$here/emu_cudnn.c" -L"$out" -l:libcuda.so.1 \
  -Wl,-rpath,'$ORIGIN' -lm
cp "$shared/libcudnn.so.9" "$out/libcudnn.so.9"
fused=; [ "${EMU_CONTRACT:-}" = 1 ] && fused=", a * b + c fused as nvcc fuses it"
echo "emulated GPU (${#kernels[@]} kernels on the CPU${race[@]+", race check on"}$fused) in $out"
