"""One virtual device of 1, then of 2 remote workers (moai-sched plus two
moai-worker daemons, one CPU device of one core each, on loopback): the
step time of a GEMM-heavy MLP, the speed-up, and that both computed the
same numbers (median of 3 turns each). The 2-worker run is repeated with the all-gathers done by
synchronous worker->worker copies (MOAI_PEER_COPY=sync, the client waiting
for each), the baseline the one-way copies are measured against.
Usage: bench_devices_remote.py BENCH_MLP [--quick]"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from cluster import Cluster, fail  # noqa: E402

program = sys.argv[1]
quick = "--quick" in sys.argv
args = ["256", "128", "2", "2"] if quick else ["2048", "512", "2", "3"]
cores = os.cpu_count() or 1


def run(c, devices, **extra):
    t0 = time.time()
    r = c.run(program, args, timeout=600, MOAI_DEVICES=devices, MOAI_SPLIT=None, **extra)
    if r.returncode != 0:
        fail(f"bench_mlp on {devices} worker(s) {extra} failed: exit {r.returncode}\n{r.stdout}{r.stderr[-3000:]}")
    m = re.search(r"step_ms=([\d.]+) checksum=(\S+)", r.stdout)
    if not m:
        fail(f"bench_mlp printed no result: {r.stdout}")
    return float(m.group(1)), float(m.group(2)), time.time() - t0


rounds = 1 if quick else 3
load_before = os.getloadavg()[0]
# Generous liveness timeouts: two busy workers on a loaded 2-core machine.
# The three runs take turns, `rounds` times; each figure is its median, so
# a burst of other load on the machine does not decide the ratio.
with Cluster(workers=2, threads=1, memory="2G", heartbeat_timeout=10.0, client_timeout=30.0) as c:
    runs = {"one": [], "two": [], "sync": [], "eager": []}
    for _ in range(rounds):
        runs["one"].append(run(c, 1))
        runs["two"].append(run(c, 2))
        runs["sync"].append(run(c, 2, MOAI_PEER_COPY="sync"))
        runs["eager"].append(run(c, 2, MOAI_GATHER="eager"))
    median = lambda k: sorted(r[0] for r in runs[k])[len(runs[k]) // 2]
    one, two, sync, eager = median("one"), median("two"), median("sync"), median("eager")
    sum1, sum2, sum3 = runs["one"][0][1], runs["two"][0][1], runs["sync"][0][1]
    for k in runs:
        print(f"{k}: step ms {' '.join(f'{r[0]:.1f}' for r in runs[k])}")
    logs = "".join(c.log(w) for w in c.workers)
    if "a peer worker connected" not in logs:
        fail("the 2-worker runs never copied worker->worker: " + logs[-2000:])

print(f"MLP {args[0]} wide, batch {args[1]}, {args[2]} layers through moai-sched: step {one:.1f} ms on 1 remote "
      f"worker, {two:.1f} ms on 2 (one-way worker->worker gathers), {sync:.1f} ms on 2 with synchronous gathers "
      f"(one core per worker, {cores} cores here)")
# Two workers need two free cores: other work on the machine slows them most.
print(f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on {cores} cores")
print(f"RESULT speedup_2_remote_workers={one / two:.2f} step_ms_1_worker={one:.1f} step_ms_2_workers={two:.1f}")
print(f"RESULT speedup_2_remote_workers_sync_copies={one / sync:.2f} step_ms_2_workers_sync_copies={sync:.1f}")
print(f"RESULT speedup_2_remote_workers_eager_gathers={one / eager:.2f} step_ms_2_workers_eager_gathers={eager:.1f}")
for name, k in (("1 worker", "one"), ("2 workers", "two"), ("2 workers, synchronous copies", "sync"),
                ("2 workers, eager gathers", "eager")):
    for r in runs[k]:
        if abs(sum1 - r[1]) > 1e-3 * max(1.0, abs(sum1)):
            fail(f"{name} computed a different result: {r[1]} vs {sum1} on 1 worker")
print(f"checksums agree: {sum1:.6e}")
