"""Worker -> worker copies in the protocol: two workers, one device each, a
job leasing both; the bytes go from one worker to the other directly, over
plain tcp and over CurveZMQ."""
import subprocess
import sys

from cluster import Cluster, fail

client = sys.argv[1]
# Worker->worker over ipc:// where both are on one host (the default), over
# tcp:// when the workers are told not to use ipc, and over CurveZMQ tcp.
for curve, peer_link in ((False, "ipc"), (False, "tcp"), (True, "tcp")):
    with Cluster(workers=2, curve=curve, worker_env={"MOAI_NO_IPC": "1"} if peer_link == "tcp" else None) as c:
        env = c.env()
        env.pop("LD_PRELOAD")  # not a CUDA program: it drives the remote backend itself
        r = subprocess.run([client, c.endpoint], capture_output=True, text=True, timeout=60, env=env)
        print("curve" if curve else "plain", peer_link, r.stdout)
        if r.returncode != 0:
            fail(f"peer_copy_client (curve={curve}) exit {r.returncode}\n{r.stderr[-2000:]}\n"
                 + "\n".join(c.log(w, 1500) for w in c.workers))
        logs = "".join(c.log(w) for w in c.workers)
        if "a peer worker connected" not in logs:
            fail("no worker connected to its peer: " + logs[-2000:])
print("worker->worker copies passed")
