#!/usr/bin/env bash
# Configures (once) and builds MoAI into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
cuda="${CUDA_HOME:-/usr/local/cuda}"
if [ ! -f build/build.ninja ]; then
  meson setup build -Dtoolkit_prefix="$cuda" >/dev/null
fi
meson compile -C build -j "${MOAI_BUILD_JOBS:-2}"
