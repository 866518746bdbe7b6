"""kill -9 of a worker while a program runs on it: the program gets a CUDA
error within 10 s and never hangs; the scheduler sees the worker gone; a
program on the other worker is unaffected."""
import os
import signal
import subprocess
import sys
import time

from cluster import Cluster, fail

program = sys.argv[1]

with Cluster(workers=2, heartbeat=0.3, heartbeat_timeout=1.5) as c:
    victim = subprocess.Popen([program, "60"], env=c.env(), stdout=subprocess.PIPE, text=True)
    if victim.stdout.readline().strip() != "ready":
        fail("victim program did not start")
    time.sleep(0.2)
    hosts = [w for w in c.workers if "opened" in c.log(w)]
    if len(hosts) != 1:
        fail(f"expected the job on one worker, found {len(hosts)}")
    doomed = hosts[0]
    survivor_worker = next(w for w in c.workers if w is not doomed)

    bystander = subprocess.Popen([program, "4"], env=c.env(), stdout=subprocess.PIPE, text=True)
    if bystander.stdout.readline().strip() != "ready":
        fail("bystander program did not start")
    time.sleep(0.2)
    if "opened" not in c.log(survivor_worker):
        fail("bystander did not land on the other worker")

    os.kill(doomed.pid, signal.SIGKILL)
    killed_at = time.time()
    try:
        out, _ = victim.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        victim.kill()
        fail("the program hung after its worker was killed")
    took = time.time() - killed_at
    if victim.returncode != 3 or "error cudaError" not in out:
        fail(f"victim should fail with a CUDA error, got exit {victim.returncode}: {out}")
    if took > 10:
        fail(f"the error took {took:.1f} s (limit 10 s)")
    print(f"victim got '{out.strip()}' {took:.2f} s after the kill")

    out, _ = bystander.communicate(timeout=30)
    if bystander.returncode != 0:
        fail(f"the program on the other worker failed: {out}")
    print("bystander:", out.strip())

    def dead_lines():
        return [l for l in c.log(c.sched).splitlines() if doomed.name in l and "dead" in l]

    deadline = time.time() + 10
    while time.time() < deadline and not dead_lines():
        time.sleep(0.1)
    if not dead_lines():
        fail("the scheduler did not notice the dead worker:\n" + c.log(c.sched, 4000))
    print("scheduler:", dead_lines()[-1])
print("worker kill handled")
