"""How good the client's memory forecast is: each program runs twice through
a scheduler and a worker as a shareable job. The first run has no history:
its forecast when the first synchronising call returns is what the
scheduler first learns. The second run asks for its lease with the first
run's peak (the memory history). Both are compared with the peak the job
actually held on the device.

Usage: memory_prediction.py [--check] PROGRAM[@ARG,ARG...]... (--check: fail
unless the history is used and no forecast is below the peak; for the test
suite)"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from cluster import Cluster, fail  # noqa: E402

check = "--check" in sys.argv
programs = [p for p in sys.argv[1:] if p != "--check"]


def mib(b):
    return f"{b / 2**20:.1f}" if b >= 0 else "-"


def error(pred, actual):
    return f"{100.0 * (pred - actual) / actual:+.1f}%" if actual > 0 and pred >= 0 else "-"


rows = []
with tempfile.TemporaryDirectory() as tmp, Cluster(workers=1, devices_per_worker=1, memory="2G") as c:
    history = os.path.join(tmp, "history")
    for spec in programs:
        program, _, args = spec.partition("@")
        args = args.split(",") if args else []
        runs = []
        for attempt in (1, 2):
            report = os.path.join(tmp, f"report-{len(rows)}-{attempt}")
            r = c.run(program, args, MOAI_SHAREABLE=1, MOAI_MEMORY_HISTORY=history, MOAI_MEMORY_REPORT=report)
            if r.returncode != 0:
                fail(f"{program} failed (run {attempt}): {r.stdout}{r.stderr}")
            with open(report) as f:
                runs.append(json.loads(f.readline()))
        first, second = runs
        rows.append((" ".join([os.path.basename(program)] + args), first, second))

print(f"{'program':22} {'peak MiB':>9} {'at 1st sync':>12} {'error':>8} {'final':>9} {'error':>8} "
      f"{'2nd run asks':>13} {'error':>8}")
errors = []
for name, first, second in rows:
    actual = first["peak_allocated"]
    sync = first["at_first_sync"]
    print(f"{name:22} {mib(actual):>9} {mib(sync):>12} {error(sync, actual):>8} "
          f"{mib(first['predicted_peak']):>9} {error(first['predicted_peak'], actual):>8} "
          f"{mib(second['asked']):>13} {error(second['asked'], second['peak_allocated']):>8}")
    if actual > 0:
        errors.append(abs(second["asked"] - second["peak_allocated"]) / second["peak_allocated"])
    if check:
        if first["asked_from"] != "" or second["asked_from"] != "history":
            fail(f"{name}: the second run should ask from the history: {first} {second}")
        if second["asked"] != first["predicted_peak"]:
            fail(f"{name}: asked {second['asked']}, the first run's forecast was {first['predicted_peak']}")
        if first["predicted_peak"] < actual:
            fail(f"{name}: the forecast {first['predicted_peak']} is below the peak {actual}")
if errors:
    print(f"RESULT mean_abs_error_second_run={100 * sum(errors) / len(errors):.1f}%")
