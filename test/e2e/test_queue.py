"""The job queue on a real scheduler: priority order, and EASY backfill (a
job with a time limit that ends before the head's reservation starts ahead
of it; one without a limit waits). Start order is read back from `moai usage`."""
from cluster import Cluster, fail, readline

with Cluster(workers=1, devices_per_worker=3) as c:
    a = c.lease_client(2, 4, MOAI_TIME_LIMIT=8)
    ja = int(readline(a).split()[1])

    def queued(n):
        q = [j for j in c.moai_json("jobs") if j["state"] == "queued"]
        return q if len(q) == n else None

    x = c.lease_client(3, 0.5)                  # submitted first, priority 0
    c.wait_for("a queued job", lambda: queued(1))
    h = c.lease_client(3, 0.5, MOAI_PRIORITY=5)  # overtakes it
    q = c.wait_for("two queued jobs", lambda: queued(2))
    jh, jx = q[0]["job"], q[1]["job"]
    if jh < jx:
        fail("the high-priority job was submitted second")
    if q[0]["request"]["priority"] != 5 or q[0]["position"] != 1 or q[1]["position"] != 2:
        fail(f"queue not in priority order: {q}")
    if not q[0]["reason"].startswith("Resources") or "reserved to start in" not in q[0]["reason"]:
        fail(f"head's reason: {q[0]['reason']}")
    print("head:", q[0]["reason"])

    endless = c.lease_client(1, 0.5)            # no time limit: would hold a device past the reservation
    q = c.wait_for("three queued jobs", lambda: queued(3))
    jl = q[2]["job"]
    if f"would delay job {jh}" not in q[2]["reason"]:
        fail(f"the job without time limit should wait for job {jh}: {q[2]}")
    print("no limit:", q[2]["reason"])

    s = c.lease_client(1, 1, MOAI_TIME_LIMIT=3)  # ends before job a's limit: backfills now
    js = int(readline(s, timeout=5).split()[1])
    print(f"job {js} backfilled while job {jh} waits")

    for p in (a, s, h, x, endless):
        try:
            p.wait(timeout=40)
        except Exception:
            fail("a client did not finish: " + c.log(c.sched, 3000))
        if p.returncode != 0:
            fail(f"client exited {p.returncode}")
    usage = c.moai_json("usage")["jobs"]
    order = [u["job"] for u in sorted(usage, key=lambda u: u["start_time"])]
    if order != [ja, js, jh, jx, jl]:
        fail(f"start order {order}, expected {[ja, js, jh, jx, jl]}")
    if any(u["end_reason"] != "released by the client" for u in usage):
        fail(f"usage: {usage}")
    print("start order:", order)
print("queue and backfill order hold")
