"""cancel (queued and running), drain/undrain, and the moai CLI's exit codes
and --json output."""
import re
import socket

from cluster import Cluster, fail, readline


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


with Cluster(workers=2, devices_per_worker=2) as c:
    # --- drain: no new leases on the worker, the running one goes on ---
    p = c.lease_client(1, 8)
    jp = int(readline(p).split()[1])
    home = c.job(jp)["devices"][0]["worker"]
    other = next(w["worker"] for w in c.moai_json("workers") if w["worker"] != home)
    r = c.moai("drain", home)
    if r.returncode != 0 or "draining" not in r.stdout:
        fail(f"drain: {r.returncode} {r.stdout} {r.stderr}")
    if not next(w for w in c.moai_json("workers") if w["worker"] == home)["draining"]:
        fail("workers does not show the drain")
    if c.moai_json("status")["workers"]["draining"] != 1:
        fail("status does not count the drain")
    q = c.lease_client(1, 30)  # best fit would be the drained worker's free device
    jq = int(readline(q).split()[1])
    if c.job(jq)["devices"][0]["worker"] != other:
        fail("a lease landed on a draining worker")
    big = c.lease_client(2, 0.5)  # 1 usable free: waits
    jb = c.wait_for("a queued job", lambda: next((j["job"] for j in c.moai_json("jobs") if j["state"] == "queued"), None))
    if "1 usable free" not in c.job(jb)["reason"]:
        fail(f"reason: {c.job(jb)['reason']}")
    if c.job(jp)["state"] != "running":
        fail("the job on the draining worker stopped")
    if c.moai("undrain", home).returncode != 0:
        fail("undrain failed")
    if readline(big).split()[1] != str(jb):
        fail("the queued job did not start after undrain")
    print("drain and undrain work")

    # --- cancel: a queued job, then a running one ---
    waiting = c.lease_client(4, 1)
    jw = c.wait_for("a queued job", lambda: next((j["job"] for j in c.moai_json("jobs") if j["state"] == "queued"), None))
    if c.moai("cancel", jw).returncode != 0:
        fail("cancel of a queued job failed")
    line = readline(waiting)
    if "cancelled while queued" not in line or waiting.wait(timeout=5) != 1:
        fail(f"the queued client should fail: {line}")
    r = c.moai("cancel", jq)
    if r.returncode != 0 or "cancelled" not in r.stdout:
        fail(f"cancel of a running job: {r.returncode} {r.stderr}")
    if c.job(jq) is not None or c.job(jw) is not None:
        fail("cancelled jobs still listed")
    rec = next(u for u in c.moai_json("usage")["jobs"] if u["job"] == jq)
    if rec["end_reason"] != "cancelled" or rec["leased_device_seconds"] <= 0 or rec["busy_seconds"] is not None:
        fail(f"usage record of the cancelled job: {rec}")
    if any(u["job"] == jw for u in c.moai_json("usage")["jobs"]):
        fail("a job that never ran has a usage record")
    print("cancel works")

    # --- a client gives up after MOAI_LEASE_TIMEOUT and leaves the queue ---
    impatient = c.lease_client(4, 1, MOAI_LEASE_TIMEOUT=1.5)
    line = readline(impatient)
    if "still queued after" not in line or impatient.wait(timeout=5) != 1:
        fail(f"the impatient client: {line}")
    c.wait_for("the abandoned job to leave the queue",
               lambda: not any(j["state"] == "queued" for j in c.moai_json("jobs")))
    bad = c.lease_client(1, 1, MOAI_PRIORITY="high")
    line = readline(bad)
    if "MOAI_PRIORITY" not in line or bad.wait(timeout=5) != 1:
        fail(f"a bad MOAI_PRIORITY should be refused: {line}")
    print("lease timeout and bad settings handled")

    # --- exit codes and output ---
    r = c.moai("cancel", 99999)
    if r.returncode != 1 or "no job 99999" not in r.stderr:
        fail(f"unknown job: {r.returncode} {r.stderr}")
    if c.moai("drain", "nobody").returncode != 1:
        fail("drain of an unknown worker should exit 1")
    for bad in (["resize", "1"], ["frobnicate"], ["resize", "x", "2"], []):
        if c.moai(*bad).returncode != 2:
            fail(f"moai {bad} should be a usage error (2)")
    c.endpoint, real = f"tcp://127.0.0.1:{free_port()}", c.endpoint
    r = c.moai("status")
    c.endpoint = real
    if r.returncode != 3 or "cannot reach" not in r.stderr:
        fail(f"unreachable scheduler: {r.returncode} {r.stderr}")
    workers = c.moai_json("workers")
    uuid = re.compile(r"^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    if not all(uuid.match(d["uuid"]) and d["index"] in (0, 1) for w in workers for d in w["device_list"]):
        fail(f"devices are named by index and uuid: {workers}")
    for listing in ("status", "jobs", "usage"):
        c.moai_json(listing)
        text = c.moai(listing)
        if text.returncode != 0 or not text.stdout:
            fail(f"moai {listing} printed nothing")
    if "LEASED DEVICE-H" not in c.moai("usage").stdout:
        fail("usage table header")
    p.wait(timeout=20)
    print("exit codes and --json hold")
print("cancel, drain and the CLI work")
