#!/usr/bin/env bash
# Installs, builds and runs every test; ends with "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1
bash scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }
meson test -C build --num-processes 2 --print-errorlogs "$@"
status=$?
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"OK": 0, "EXPECTEDFAIL": 0, "SKIP": 0}
failed = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in counts:
        counts[r] += 1
    else:
        failed += 1
print(f"{counts['OK'] + counts['EXPECTEDFAIL']} passed, {failed} failed, {counts['SKIP']} skipped")
PY
exit $status
