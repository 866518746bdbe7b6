"""A virtual device of two remote workers (MOAI_DEVICES=2 through moai-sched),
every op that can be split split (MOAI_SPLIT=always: GEMMs by columns or
batch entries, vector ops by ranges, element-wise kernels by block ranges
over the wire), each share left on its worker and pulled by the worker that
reads it next with one-way worker->worker copies queued on both streams.
With MOAI_SPLIT=k, GEMMs split by K instead: each worker leaves a partial
sum, and the workers reduce-scatter them (sending each other chunks and
adding them in stream order).

1. The programs check every result against their CPU reference (the MLP:
   its loss every step), so a copy lost, applied too early (before the
   share that produces it ran) or too late (after an op that reads it) fails
   them. The same runs with MOAI_PEER_COPY=sync (the client waits for each
   copy) must agree.
2. memory_aggregate on two workers of 64 MiB: a working set neither holds,
   sharded across them (the virtual device reports 128 MiB).
3. kill -9 of either worker in the middle of a long run: the program gets a
   CUDA error within 10 s and never hangs; the surviving worker stays up.
Usage: test_group_remote.py BENCH_MLP APP..."""
import os
import signal
import subprocess
import sys
import time

from cluster import Cluster, fail

bench_mlp, apps = sys.argv[1], sys.argv[2:]
split = {"MOAI_DEVICES": 2, "MOAI_SPLIT": "always"}
aggregate = [a for a in apps if os.path.basename(a) == "memory_aggregate"]
apps = [a for a in apps if a not in aggregate]

with Cluster(workers=2, memory="64M", heartbeat_timeout=10.0, client_timeout=30.0) as c:
    for app in aggregate:
        r = c.run(app, timeout=120, MOAI_DEVICES=2, MOAI_SPLIT=None)
        if r.returncode != 0 or "128 MiB reported" not in r.stdout:
            fail(f"memory_aggregate on 2 workers of 64 MiB: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        print("ok memory_aggregate on 2 workers of 64 MiB: " + r.stdout.splitlines()[0])

with Cluster(workers=2, heartbeat_timeout=10.0, client_timeout=30.0) as c:
    for app in apps:
        name = os.path.basename(app)
        for mode in ("one-way copies", "sync copies", "GEMMs by K"):
            extra = {"MOAI_PEER_COPY": "sync"} if mode == "sync copies" else {"MOAI_SPLIT": "k"} if mode == "GEMMs by K" else {}
            r = c.run(app, timeout=120, **{**split, **extra})
            if r.returncode != 0:
                fail(f"{name} on 2 workers ({mode}): exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
            print(f"ok {name} on 2 workers, {mode}")
    logs = [c.log(w) for w in c.workers]
    if not all("a peer worker connected" in log for log in logs):
        fail("the workers never copied to each other:\n" + "\n".join(log[-1500:] for log in logs))

for victim in (0, 1):
    with Cluster(workers=2, heartbeat_timeout=10.0, client_timeout=30.0) as c:
        # Steps of a few ms each, for far longer than the test waits.
        p = subprocess.Popen([bench_mlp, "512", "256", "2", "1000000"], env=c.env(**split),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while time.time() < deadline and not all("a peer worker connected" in c.log(w) for w in c.workers):
            time.sleep(0.05)
        if p.poll() is not None or time.time() >= deadline:
            p.kill()
            fail(f"the program did not get to copying between workers: {p.communicate()}")
        time.sleep(0.5)
        doomed = c.workers[victim]
        os.killpg(doomed.pid, signal.SIGKILL)
        killed_at = time.time()
        try:
            out, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            fail(f"the program hung after worker {doomed.name} was killed")
        took = time.time() - killed_at
        if p.returncode == 0 or "cudaError" not in err:
            fail(f"killing {doomed.name}: the program should fail with a CUDA error, got exit {p.returncode}: {err[-2000:]}")
        if took > 10:
            fail(f"killing {doomed.name}: the error took {took:.1f} s (limit 10 s)")
        survivor = c.workers[1 - victim]
        if survivor.poll() is not None:
            fail(f"worker {survivor.name} died too:\n{c.log(survivor, 2000)}")
        print(f"killed {doomed.name}: the program failed {took:.2f} s later: {err.strip().splitlines()[-1]}")
print("2 remote workers: split ops' shares pulled worker->worker, failures reported")
