"""The test/apps programs, unchanged, through moai-sched and two workers,
over ipc:// (shared memory) and over tcp://."""
import os
import sys

from cluster import Cluster, fail

apps = sys.argv[1:]
with Cluster(workers=2) as c:
    for transport in ("ipc", "tcp"):
        extra = {"MOAI_NO_IPC": "1"} if transport == "tcp" else {}
        for app in apps:
            r = c.run(app, **extra)
            name = os.path.basename(app)
            if r.returncode != 0:
                fail(f"{name} over {transport}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
            print(f"ok {name} over {transport}")
print("all apps passed through remote workers")
