#!/bin/sh
# Runs a test program on the CUDA backend; exits 77 (skip) without an NVIDIA GPU.
if [ ! -e /dev/nvidiactl ] && [ ! -e /dev/dxg ]; then
  echo "skipped: no NVIDIA GPU on this machine (no /dev/nvidiactl)"
  exit 77
fi
MOAI_BACKEND=cuda exec "$@"
