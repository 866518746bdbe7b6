"""kill -9 of moai-sched with a state file, while a CUDA program runs and a
job waits in the queue: the restarted scheduler has the same jobs, leases
and usage records, workers carry on without registering again, the program
finishes correctly, the queued job gets its lease, and job ids continue."""
import subprocess
import sys
import time

from cluster import Cluster, fail, readline

program = sys.argv[1]

with Cluster(workers=2, heartbeat=0.3, heartbeat_timeout=2.0, client_timeout=5.0, state=True) as c:
    prog = subprocess.Popen([program, "6"], env=c.env(), stdout=subprocess.PIPE, text=True)
    if prog.stdout.readline().strip() != "ready":
        fail("program did not start")
    holder = c.lease_client(1, 6)
    jh = int(readline(holder).split()[1])
    waiter = c.lease_client(1, 0.2)
    jobs = c.wait_for("a queued job", lambda: (lambda js: js if any(j["state"] == "queued" for j in js) else None)(
        c.moai_json("jobs")))
    jw = next(j["job"] for j in jobs if j["state"] == "queued")
    before = {j["job"]: j["state"] for j in jobs}
    leases_before = {j["job"]: j["devices"] for j in jobs}

    c.kill_scheduler()
    time.sleep(1.0)  # the cluster runs without a scheduler meanwhile
    c.restart_scheduler()
    restored = [l for l in c.log(c.sched).splitlines() if "restored" in l]
    if not restored or "restored 2 workers, 3 jobs" not in restored[0]:
        fail("restart log: " + c.log(c.sched, 2000))
    print(restored[0].split("] ")[-1])
    jobs = c.moai_json("jobs")
    if {j["job"]: j["state"] for j in jobs} != before:
        fail(f"jobs before {before}, after {jobs}")
    if {j["job"]: j["devices"] for j in jobs} != leases_before:
        fail("leases changed across the restart")

    time.sleep(c.heartbeat_timeout + 0.5)  # past the grace period: workers must have been taken back
    status = c.moai_json("status")
    if status["workers"]["alive"] != 2:
        fail(f"workers lost after the restart: {status}")
    for w in c.workers:
        if c.log(w).count("registered with the scheduler") != 1 or "no longer knows" in c.log(w):
            fail(f"worker {w.name} had to register again:\n{c.log(w, 2000)}")

    out, _ = prog.communicate(timeout=60)
    if prog.returncode != 0 or "done after" not in out:
        fail(f"the program failed across the restart: {prog.returncode} {out}")
    if readline(holder) != f"done {jh}" or holder.wait(timeout=10) != 0:
        fail("the lease holder did not finish")
    if readline(waiter).split()[1] != str(jw):
        fail("the queued job did not get its lease")
    waiter.wait(timeout=10)
    nxt = c.lease_client(1, 0.1)
    jn = int(readline(nxt).split()[1])
    if jn <= jw:
        fail(f"job ids restarted: {jn} after {jw}")
    nxt.wait(timeout=10)

    usage = {u["job"]: u for u in c.wait_for("ended usage records", lambda: (
        lambda us: us if len(us) == 4 and all(u["end_time"] for u in us) else None)(c.moai_json("usage")["jobs"]))}
    prog_job = min(usage)
    if usage[prog_job]["leased_device_seconds"] < 5.5:
        fail(f"the program's usage lost time: {usage[prog_job]}")
    if set(usage) != {prog_job, jh, jw, jn}:
        fail(f"usage records: {sorted(usage)}")
    print("usage:", {j: round(u["leased_device_seconds"], 1) for j, u in usage.items()})
print("scheduler kill -9 and restart lost nothing")
