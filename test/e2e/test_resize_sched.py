"""`moai resize` at the scheduler level: a grow reaches the client as a
changed lease; a shrink frees the dropped devices only once the client
confirms; impossible resizes fail with exit code 1."""
from cluster import Cluster, fail, readline

with Cluster(workers=2, devices_per_worker=2) as c:
    client = c.lease_client(1, 30)
    job = int(readline(client).split()[1])

    def leased():
        return sorted((w["worker"], d["index"]) for w in c.moai_json("workers") for d in w["device_list"]
                      if d["job"] == job)

    r = c.moai("resize", job, 3)
    if r.returncode != 0 or "resized to 3" not in r.stdout:
        fail(f"grow: {r.returncode} {r.stdout} {r.stderr}")
    line = readline(client).split()
    if line[:3] != ["changed", str(job), "3"] or len(leased()) != 3:
        fail(f"grow not seen: {line} {leased()}")
    print("grown:", " ".join(line[3:]))
    # The client confirms within a keepalive tick; until then another resize is refused.
    c.wait_for("the grow to be confirmed", lambda: not c.job(job)["resize_pending"])

    r = c.moai("resize", job, 9)
    if r.returncode != 1 or "cannot grow" not in r.stderr:
        fail(f"impossible grow: {r.returncode} {r.stderr}")

    r = c.moai("resize", job, 1)
    if r.returncode != 0:
        fail(f"shrink: {r.stderr}")
    line = readline(client).split()
    if line[:3] != ["changed", str(job), "1"]:
        fail(f"shrink not seen: {line}")
    kept = tuple(line[3].split(":"))
    # The client confirmed: the dropped devices are free again.
    c.wait_for("the dropped devices to be freed", lambda: leased() == [(kept[0], int(kept[1]))])
    if c.job(job)["resize_pending"]:
        fail("resize still pending after the confirmation")
    print("shrunk to", line[3])

    if c.moai("resize", 424242, 1).returncode != 1:
        fail("resize of an unknown job should exit 1")
    client.kill()
print("resize at the scheduler level works")
