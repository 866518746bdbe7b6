"""Worker -> worker copies in the protocol: two workers, one device each, a
job leasing both; the bytes go from one worker to the other directly, over
plain tcp and over CurveZMQ."""
import subprocess
import sys

from cluster import Cluster, fail

client = sys.argv[1]
for curve in (False, True):
    with Cluster(workers=2, curve=curve) as c:
        env = c.env()
        env.pop("LD_PRELOAD")  # not a CUDA program: it drives the remote backend itself
        r = subprocess.run([client, c.endpoint], capture_output=True, text=True, timeout=60, env=env)
        print("curve" if curve else "plain", r.stdout)
        if r.returncode != 0:
            fail(f"peer_copy_client (curve={curve}) exit {r.returncode}\n{r.stderr[-2000:]}\n"
                 + "\n".join(c.log(w, 1500) for w in c.workers))
        logs = "".join(c.log(w) for w in c.workers)
        if "a peer worker connected" not in logs:
            fail("no worker connected to its peer: " + logs[-2000:])
print("worker->worker copies passed")
