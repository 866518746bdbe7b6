"""Colocation: shareable jobs with a memory prediction share one device.
Two jobs run side by side within their quotas, both correct; a third asks
for more than its quota and gets cudaErrorMemoryAllocation while the other
two carry on; the device's time is split by the jobs' weights (with the
same work, the job of weight 3 is done well before the one of weight 1);
an exclusive job waits until the shared device is free. Then, on a
scheduler with 50% headroom, a job whose memory grows while it runs gets its
quota raised from its forecasts, step after step, and never fails; and a
sharer cancelled with a long queue of work ends at once, without holding up
the worker or the job beside it."""
import os
import re
import subprocess
import sys
import time

from cluster import Cluster, fail

program, growing = sys.argv[1], sys.argv[2]
with Cluster(workers=1, devices_per_worker=1, threads=1, memory="1G") as c:
    go = os.path.join(c.dir, "go")  # the jobs compute once it exists
    def start(mib, rounds, memory, weight=1, extra=None):
        args = [program, str(mib), str(rounds)] + ([str(extra)] if extra else [])
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=c.env(MOAI_SHAREABLE=1, MOAI_MEMORY=memory, MOAI_SHARE_WEIGHT=weight,
                                       MOAI_LOG="info", COLOCATED_GO=go))
        p.early = []  # log lines before "ready"
        for line in p.stdout:
            if line.strip() == "ready":
                return p
            p.early.append(line)
        fail(f"job {args} did not start: {''.join(p.early)}")

    a = start(128, 6, "300M", weight=1)
    b = start(128, 6, "300M", weight=3)
    third = start(32, 2, "100M", extra=128)
    # An exclusive job finds the device taken by the shared ones and waits;
    # while it waits, no new sharer may join (that could delay it forever).
    exclusive = c.lease_client(1, 1)
    c.wait_for("the exclusive job queued", lambda: c.job(4) and c.job(4)["state"] == "queued")

    workers = c.moai_json("workers")
    device = workers[0]["device_list"][0]
    print("shared device:", device)
    if device["sharers"] != [1, 2, 3]:
        fail(f"expected jobs 1, 2 and 3 on the device, got {device['sharers']}")
    quotas = {j["job"]: j["memory_quota"] for j in c.moai_json("jobs")}
    print("quotas:", quotas)
    if quotas[1] != 330 << 20 or quotas[3] != 110 << 20 or quotas[4] is not None:
        fail(f"quotas should be the predictions plus 10% headroom: {quotas}")
    # The clients report what they hold (their keepalive carries the forecast).
    c.wait_for("the clients' memory reports",
               lambda: {j["job"]: j["peak_allocated"] for j in c.moai_json("jobs")}.get(1) == 128 << 20)
    if "memory: 330 MiB total, 202 MiB free" not in "".join(a.early):  # 128 MiB allocated
        fail(f"cudaMemGetInfo should report the quota as the device: {''.join(a.early)}")
    if device["reserved_memory"] != (330 + 330 + 110) << 20:
        fail(f"reserved memory {device['reserved_memory']}")
    print(c.moai("workers").stdout)

    open(go, "w").close()
    outputs = {}
    for name, p in (("third", third), ("a", a), ("b", b)):
        out, _ = p.communicate(timeout=90)
        outputs[name] = "".join(p.early) + out
        print(f"--- {name} (exit {p.returncode})\n{out}")
        if p.returncode != 0:
            fail(f"job {name} failed")
    if "extra 128 MiB: cudaErrorMemoryAllocation" not in outputs["third"]:
        fail("the third job's allocation beyond its quota was not refused")
    for name in ("a", "b"):
        if "correct after" not in outputs[name]:
            fail(f"job {name} did not finish correctly")
    if "memory quota on this shared device is 110 MiB" not in c.log(c.workers[0]) and \
            "memory quota" not in outputs["third"]:
        print("(the worker logged the refusal at a level the test does not see)")

    # The exclusive job got the device once the sharers were gone.
    line = exclusive.lines.get(timeout=30)
    if not line or not line.startswith("leased 4"):
        fail(f"the exclusive job did not get the device after the shared ones: {line}")

    took = {n: float(re.search(r"took ([0-9.]+) s", outputs[n]).group(1)) for n in ("a", "b")}
    print(f"same work: weight 1 took {took['a']:.2f} s, weight 3 took {took['b']:.2f} s "
          f"(ratio {took['b'] / took['a']:.2f}; 0.67 for an exact 1:3 split, 1.0 without weights)")
    if not took["b"] < 0.85 * took["a"]:
        fail("the weight-3 job should finish well before the weight-1 job")

    # The worker's heartbeats carry the jobs' busy time: wait (bounded) until
    # the scheduler has it for all three.
    def busy_times():
        usage = {r["job"]: r for r in c.moai_json("usage")["jobs"]}
        times = [usage.get(j, {}).get("busy_seconds") for j in (1, 2, 3)]
        return times if all(t is not None for t in times) else None
    busy = c.wait_for("the jobs' busy time at the scheduler", busy_times, timeout=15)
    print(f"busy seconds: {busy[0]:.2f} (weight 1), {busy[1]:.2f} (weight 3), {busy[2]:.2f} (third)")
    # The device runs one job's command at a time: time spent waiting for a
    # turn is not billed, so the busy times add up to at most the time the
    # jobs ran together (billing the waits would make it about twice that).
    if sum(busy) > max(took.values()) + 1.5:
        fail(f"busy {sum(busy):.2f} s exceeds the {max(took.values()):.2f} s the jobs ran: waiting was billed")

# Quotas follow forecasts: 64 MiB asked, +50% headroom = 96 MiB; each 16 MiB
# step raises the forecast, the keepalive reports it, and the quota grows
# ahead of the next step (a step fits in the headroom of the last forecast).
with Cluster(workers=1, devices_per_worker=1, threads=1, memory="1G", sched_args=["--share-headroom", "0.5"]) as c:
    beside = subprocess.Popen([program, "64", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=c.env(MOAI_SHAREABLE=1, MOAI_MEMORY="64M", COLOCATED_GO="/nonexistent"))
    c.wait_for("a first sharer", lambda: any(j["state"] == "running" for j in c.moai_json("jobs")))
    r = c.run(growing, ["256", "300"], MOAI_SHAREABLE=1, MOAI_MEMORY="64M", MOAI_LOG="info")
    print(r.stdout.strip())
    device = c.moai_json("workers")[0]["device_list"][0]
    beside.kill()
    beside.wait()
    if r.returncode != 0 or "grew to 256 MiB" not in r.stdout:
        fail(f"the growing job should have had its quota raised step by step:\n{r.stdout}\n{r.stderr[-2000:]}")
    if "quota before: 96 MiB" not in r.stdout or "quota after: 96 MiB" in r.stdout:
        fail("cudaMemGetInfo should show the quota growing")
    if "memory quota grew" not in r.stderr:
        fail("the client was not told of a larger quota")
# Cancelling a sharer with seconds of queued work: its queue is dropped, so the
# worker (whose I/O thread ends the job) keeps heartbeating, and the other
# sharer finishes correctly.
with Cluster(workers=1, devices_per_worker=1, threads=1, memory="1G") as c:
    go = os.path.join(c.dir, "go")
    jobs = []
    for _ in range(2):
        p = subprocess.Popen([program, "128", "40"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=c.env(MOAI_SHAREABLE=1, MOAI_MEMORY="300M", COLOCATED_GO=go))
        for line in p.stdout:
            if line.strip() == "ready":
                break
        jobs.append(p)
    open(go, "w").close()
    time.sleep(1.0)  # both have queued all their kernels (about 6 s of work each)
    t0 = time.time()
    r = c.moai("cancel", 1)
    if r.returncode != 0:
        fail(f"cancel: {r.stderr}")
    c.wait_for("the cancelled job to be gone from the device",
               lambda: c.moai_json("workers")[0]["device_list"][0]["sharers"] == [2], timeout=5)
    print(f"cancelled a sharer with queued work in {time.time() - t0:.2f} s")
    out, _ = jobs[1].communicate(timeout=90)
    jobs[0].kill()
    jobs[0].wait()
    if jobs[1].returncode != 0 or "correct after" not in out:
        fail(f"the job beside the cancelled one failed: {out[-1500:]}")
    if not c.moai_json("workers")[0]["alive"]:
        fail("the worker stopped heartbeating while it ended the cancelled job")
print("colocation: shared within quotas, quota enforced, time split by weight, quotas follow forecasts, "
      "a cancelled sharer ends at once")
