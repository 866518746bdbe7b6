#!/usr/bin/env bash
# Installs MoAI's build and test dependencies from Debian 12 packages.
# The CUDA toolkit (nvcc, headers) is expected under $CUDA_HOME or /usr/local/cuda.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config python3
  libspdlog-dev catch2 liblz4-dev libzstd-dev
  libgl-dev libegl-dev libvdpau-dev   # types named by the CUDA interop headers we export
  libopenblas-dev libdnnl-dev         # the CPU backend's GEMM/BLAS (moDNN ops)
  binutils tmux
  libzmq3-dev cppzmq-dev capnproto libcapnp-dev   # transport and wire protocol
  libcli11-dev libtomlplusplus-dev                # daemon flags and config files
  nlohmann-json3-dev                              # planner JSON, the recorded-graph file, moai CLI --json
  libsodium-dev libcpp-httplib-dev                # CurveZMQ keys (libzmq's); moai-sched's /metrics
  libsqlite3-dev                                  # moai-sched state file
  clang libclang-rt-14-dev                        # libFuzzer for test/fuzz (a replay driver stands in without it)
  libncurses-dev python3-pil fonts-dejavu-core    # moai-top; its screenshot (tools/top/screen_to_png.py)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cuda="${CUDA_HOME:-/usr/local/cuda}"
if [ ! -x "$cuda/bin/nvcc" ] || [ ! -f "$cuda/include/cuda_runtime_api.h" ]; then
  echo "error: the CUDA toolkit is required at $cuda (set CUDA_HOME)" >&2
  exit 1
fi
