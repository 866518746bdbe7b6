"""Worker -> worker copies in the protocol: two workers, one device each, a
job leasing both; the bytes go from one worker to the other directly."""
import subprocess
import sys

from cluster import Cluster, fail

client = sys.argv[1]
with Cluster(workers=2) as c:
    r = subprocess.run([client, c.endpoint], capture_output=True, text=True, timeout=60)
    print(r.stdout)
    if r.returncode != 0:
        fail(f"peer_copy_client exit {r.returncode}\n{r.stderr[-2000:]}\n"
             + "\n".join(c.log(w, 1500) for w in c.workers))
    logs = "".join(c.log(w) for w in c.workers)
    if "a peer worker connected" not in logs:
        fail("no worker connected to its peer: " + logs[-2000:])
print("worker->worker copies passed")
