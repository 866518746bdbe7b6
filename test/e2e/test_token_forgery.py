"""A job that presents a token the scheduler did not issue for its lease is
refused by the worker (forged, another lease's, or under another job id);
the issued tokens still work. Runs with CurveZMQ on, over tcp://."""
import subprocess
import sys

from cluster import Cluster, fail

forger = sys.argv[1]

with Cluster(workers=1, devices_per_worker=2, curve=True) as c:
    r = subprocess.run([forger, c.endpoint], env=c.env(MOAI_NO_IPC=1), capture_output=True, text=True, timeout=40)
    print(r.stdout)
    if r.returncode != 0:
        fail(f"token check failed (exit {r.returncode}): {r.stderr[-2000:]}")
    if r.stdout.count("refused:") < 5:
        fail("expected five refusals from the worker")
print("forged lease tokens refused")
