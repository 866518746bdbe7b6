#!/bin/sh
# Runs a libFuzzer binary for a bounded time over a seed corpus without
# writing into it: new inputs go to a scratch directory, crashes to ARTIFACTS.
# A crash must fail the test: libFuzzer's own exit code (77) means "skipped" to meson.
#   run_libfuzzer.sh FUZZER SEEDS SECONDS ARTIFACTS
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$1" -max_total_time="$3" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -artifact_prefix="$4/" "$work" "$2"
