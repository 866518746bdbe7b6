"""Offload through real workers: test/apps/offload_mlp sizes its network at
three times the device's memory. On workers with 64 MiB devices it must fail
with cudaErrorMemoryAllocation without MOAI_OFFLOAD, and complete with the
reference's losses with MOAI_OFFLOAD=1, on one leased device and on two.
Then the same network on a worker it fits gives the in-memory step time, and
the test prints what offload costs."""
import re
import sys

from cluster import Cluster, fail

app = sys.argv[1]


def seconds_per_step(r):
    m = re.search(r"offload_mlp: ([0-9.]+) s per step", r.stdout)
    return float(m.group(1)) if m else None


def run_ok(c, what, args=(), **env):
    r = c.run(app, args, timeout=120, **env)
    if r.returncode != 0 or "offload_mlp: ok" not in r.stdout:
        fail(f"{what}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    print(f"ok {what}: {seconds_per_step(r):.3f} s per step")
    return r


# Generous liveness timeouts: this test is about memory, and its steps are
# heavy on a loaded 2-core machine.
with Cluster(workers=2, memory="64M", threads=1, heartbeat_timeout=10.0, client_timeout=30.0) as c:
    r = c.run(app, timeout=60)
    if r.returncode != 2 or "cudaErrorMemoryAllocation" not in r.stderr:
        fail(f"without offload the program should run out of memory (exit 2), got {r.returncode}\n"
             f"{r.stdout[-1000:]}\n{r.stderr[-1000:]}")
    print("ok without offload: cudaErrorMemoryAllocation")

    r = run_ok(c, "offload, one 64 MiB device", MOAI_OFFLOAD=1, MOAI_LOG="info")
    if "offload: the device is full" not in r.stderr:
        fail(f"the shim never put an allocation in host memory:\n{r.stderr[-2000:]}")
    layers = re.search(r"offload_mlp: (\d+) layers", r.stdout).group(1)
    offloaded = seconds_per_step(r)
    run_ok(c, "offload, two 64 MiB devices", MOAI_OFFLOAD=1, MOAI_DEVICES=2)

    # The same network where it fits: a 1 GiB worker, picked by memory.
    c.memory = "1G"
    big = c.add_worker("big")
    c.wait_registered(workers=[big])
    fits = seconds_per_step(run_ok(c, "in memory, one 1 GiB device", [layers], MOAI_MIN_MEMORY=512 << 20))
    print(f"offload cost: {offloaded:.3f} s per step offloaded (64 MiB device, 3x oversubscribed) vs "
          f"{fits:.3f} s in memory: {offloaded / fits:.2f}x")
print("offload passed through remote workers")
