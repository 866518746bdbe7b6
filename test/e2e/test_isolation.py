"""A second job that forges the first job's device pointers gets errors and
reads nothing of it; the first job's data is untouched. Both jobs share one
worker (one worker, two devices)."""
import subprocess
import sys

from cluster import Cluster, fail

holder_prog, forger_prog = sys.argv[1], sys.argv[2]

with Cluster(workers=1, devices_per_worker=2) as c:
    holder = subprocess.Popen([holder_prog], env=c.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    first = holder.stdout.readline().split()
    if len(first) != 2:
        fail("secret holder did not start")
    va, size = first
    r = subprocess.run([forger_prog, c.endpoint, va, size], capture_output=True, text=True, timeout=60)
    print(r.stdout)
    if r.returncode != 0:
        fail(f"isolation breached or forger failed (exit {r.returncode}): {r.stderr}")
    out, _ = holder.communicate("go\n", timeout=30)
    if holder.returncode != 0 or "secret intact" not in out:
        fail(f"the first job's data changed: {out}")
    print(out.strip())
print("isolation held")
