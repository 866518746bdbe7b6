"""Metering bills compute, not leases: a job that holds its device and
sleeps is billed (nearly) no busy time, while a job that keeps its device
computing is billed about the time it computed, never more than it held."""
import subprocess
import sys
import time

from cluster import Cluster, fail

busy_program, sleeper_program = sys.argv[1], sys.argv[2]
with Cluster(workers=1, devices_per_worker=2, threads=1) as c:
    sleeper = subprocess.Popen([sleeper_program, "5"], env=c.env(), stdout=subprocess.PIPE, text=True)
    if sleeper.stdout.readline().strip() != "ready":
        fail("the sleeper did not start")
    busy = subprocess.Popen([busy_program, "4"], env=c.env(), stdout=subprocess.PIPE, text=True)
    if busy.stdout.readline().strip() != "ready":
        fail("the busy program did not start")
    for name, proc in (("busy", busy), ("sleeper", sleeper)):
        out, _ = proc.communicate(timeout=60)
        if proc.returncode != 0:
            fail(f"the {name} program failed: {out}")
    time.sleep(1.5)  # the workers' last heartbeats
    records = {r["job"]: r for r in c.moai_json("usage")["jobs"]}
    if len(records) != 2:
        fail(f"expected two usage records: {records}")
    sleeper_rec, busy_rec = records[1], records[2]  # job ids in start order
    print("sleeper:", sleeper_rec)
    print("busy:", busy_rec)
    leased = busy_rec["leased_device_seconds"]
    if sleeper_rec["busy_seconds"] is None or sleeper_rec["busy_seconds"] > 0.5:
        fail(f"the sleeping job was billed {sleeper_rec['busy_seconds']} busy seconds")
    if sleeper_rec["leased_device_seconds"] < 4:
        fail(f"the sleeper's lease should have lasted its sleep: {sleeper_rec}")
    if busy_rec["busy_seconds"] is None or not (1.0 < busy_rec["busy_seconds"] <= leased + 1.0):
        fail(f"the busy job's busy time {busy_rec['busy_seconds']} is not within (1, {leased + 1}]")
    users = c.moai_json("usage")["users"]
    if not users or users[0]["busy_seconds"] is None:
        fail(f"per-user busy time missing: {users}")
    table = c.moai("usage").stdout
    print(table)
print("metering bills compute, not sleep")
