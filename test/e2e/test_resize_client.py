"""Resize under a running program: `moai resize` grows its virtual device
from 1 to 2 devices and shrinks it back while it computes and checks every
iteration; the program never notices (every result stays right), the new
device joins with a copy of the program's memory, and the scheduler frees
the dropped one once the client confirms. The client, which had no planner
on one device, starts planning when the device grows and plans for the new
number of devices after each later change."""
import os
import subprocess
import sys
import time

from cluster import Cluster, fail

program = sys.argv[1]
with Cluster(workers=2, devices_per_worker=1) as c:
    log_path = os.path.join(c.dir, "program.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([program, "14"], env=c.env(MOAI_LOG="info"), stdout=log, stderr=subprocess.STDOUT)
    c.clients.append(proc)

    def program_log():
        with open(log_path) as f:
            return f.read()

    job = c.wait_for("the program's lease", lambda: next((j["job"] for j in c.moai_json("jobs")
                                                           if j["state"] == "running"), None))
    time.sleep(1)
    r = c.moai("resize", job, 2)
    if r.returncode != 0:
        fail(f"grow: {r.returncode} {r.stderr}")
    c.wait_for("the program to take the second device", lambda: "now has 2 device(s)" in program_log(), timeout=20)
    c.wait_for("the grow to be confirmed", lambda: not c.job(job)["resize_pending"])
    time.sleep(2)  # compute on two devices for a while
    r = c.moai("resize", job, 1)
    if r.returncode != 0:
        fail(f"shrink: {r.returncode} {r.stderr}")
    c.wait_for("the program to drop a device", lambda: "now has 1 device(s)" in program_log(), timeout=20)
    c.wait_for("the shrink to be confirmed", lambda: not c.job(job)["resize_pending"])
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        fail("the program did not finish: " + program_log()[-2000:])
    out = program_log()
    print(out[-1500:])
    if rc != 0 or "resize_loop: OK" not in out:
        fail(f"the program failed (exit {rc})")
for want in ("the virtual device now has 2 devices: planning from now on", "planning for 1 device(s) from now on (was 2)"):
    if want not in out:
        fail(f"the planner did not follow the resize: no '{want}' in\n{out}")
print("resize under a running program passed")
