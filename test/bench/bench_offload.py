"""What offload costs: test/apps/offload_mlp, a 63-layer residual MLP whose
weights, gradients and momenta (193 MiB) are three times a 64 MiB device,
timed per training step (s/step, best of 2 runs each, alternating):

  in memory   the same network on a 1 GiB device, offload off (baseline)
  offload on  1 GiB device with MOAI_OFFLOAD=1: the bookkeeping alone
  offloaded   64 MiB device with MOAI_OFFLOAD=1: every step streams the
              whole working set in and its written half out

on the embedded CPU device and through one moai-worker (ipc://, shared
memory). One CPU thread per device."""
import os
import re
import subprocess
import sys

from cluster import Cluster

app = sys.argv[1]
LAYERS = "63"  # what offload_mlp picks for 64 MiB (3x)
CASES = [("in memory", "1G", False), ("offload on", "1G", True), ("offloaded", "64M", True)]


def seconds(r, what):
    m = re.search(r"offload_mlp: ([0-9.]+) s per step", r.stdout)
    if r.returncode != 0 or not m:
        print(f"{what}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        sys.exit(1)
    return float(m.group(1))


def embedded(memory, offload):
    env = dict(os.environ, LD_PRELOAD=os.environ["MOAI_SHIM"], LD_LIBRARY_PATH=os.environ["MOAI_SHIM_DIR"],
               MOAI_CPU_MEMORY=memory, MOAI_CPU_THREADS="1", MOAI_LOG="warn")
    env.pop("MOAI_SCHEDULER", None)
    if offload:
        env["MOAI_OFFLOAD"] = "1"
    return subprocess.run([app, LAYERS], env=env, capture_output=True, text=True, timeout=300)


best = {}
for rep in range(2):
    for name, memory, offload in CASES:
        t = seconds(embedded(memory, offload), f"embedded {name}")
        best[("embedded", name)] = min(best.get(("embedded", name), t), t)
    for memory in ("1G", "64M"):
        with Cluster(workers=1, memory=memory, threads=1, heartbeat_timeout=10.0, client_timeout=30.0) as c:
            for name, mem, offload in CASES:
                if mem != memory:
                    continue
                extra = {"MOAI_OFFLOAD": "1"} if offload else {}
                t = seconds(c.run(app, [LAYERS], timeout=300, **extra), f"worker {name}")
                best[("worker", name)] = min(best.get(("worker", name), t), t)

print(f"offload_mlp, {LAYERS} layers (193 MiB), s per training step, best of 2")
print(f"{'':14} {'in memory':>10} {'offload on':>11} {'offloaded':>10} {'ratio':>6}")
for where in ("embedded", "worker"):
    base, on, off = (best[(where, n)] for n, _, _ in CASES)
    print(f"{where:14} {base:10.3f} {on:11.3f} {off:10.3f} {off / base:6.2f}")
    print(f"RESULT offload_{where}_ratio={off / base:.3f}")
    print(f"RESULT offload_{where}_bookkeeping_ratio={on / base:.3f}")
