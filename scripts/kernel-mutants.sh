#!/usr/bin/env bash
# Plants one bug at a time in the CUDA kernels and checks that the gpu-tagged kernel tests, run on the emulated GPU,
# notice each (cuda-kernels/src/test/emulator/kernel_mutants.py has the table and the details). Needs what the
# emulated-GPU lane needs: ../shared/gpu/mock-driver, gcc, g++, nvcc, python3. About 40 minutes for the whole table.
#   scripts/kernel-mutants.sh [--list | --check | NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 cuda-kernels/src/test/emulator/kernel_mutants.py "$@"
