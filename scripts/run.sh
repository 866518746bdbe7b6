#!/usr/bin/env bash
# The main job: install, build, then run an unmodified CUDA program through
# the shim on the embedded default (no daemons) and print its result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null
cuda="${CUDA_HOME:-/usr/local/cuda}"
"$cuda/bin/nvcc" -cudart shared -O2 -gencode 'arch=compute_75,code=[compute_75,sm_75]' \
  -o build/vector_add examples/vector_add.cu
echo "running build/vector_add under LD_PRELOAD=build/interpose/libmoai_cuda.so"
LD_PRELOAD="$PWD/build/interpose/libmoai_cuda.so" LD_LIBRARY_PATH="$PWD/build/interpose" ./build/vector_add "$@"
