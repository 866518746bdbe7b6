"""Events over the wire: a record is a one-way message, a query does not wait
for the job's queued work, elapsed time is the worker's clock."""
import sys

from cluster import Cluster, fail

program = sys.argv[1]
with Cluster(workers=1) as c:
    for transport in ("ipc", "tcp"):
        extra = {"MOAI_NO_IPC": "1"} if transport == "tcp" else {}
        r = c.run(program, **extra)
        print(transport, r.stdout.strip())
        if r.returncode != 0:
            fail(f"event_timing over {transport}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
print("events over the wire passed")
