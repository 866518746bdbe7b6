"""CurveZMQ with a ZAP allow-list: allowed workers and clients run a program
(over tcp:// with Curve and over ipc://); a worker or client with an unknown
key, a plain one, and a client that knows the wrong scheduler key are all
refused, and the scheduler logs the refusals."""
import os
import shutil
import subprocess
import sys
import time
import urllib.request

from cluster import Cluster, fail

app, long_running = sys.argv[1], sys.argv[2]


def public_key(path):
    with open(path) as f:
        for line in f:
            if "public-key" in line:
                return line.split('"')[1]
    raise RuntimeError(f"no public key in {path}")


with Cluster(workers=2, curve=True, metrics=True) as c:
    sched_log = lambda: c.log(c.sched)
    for transport, extra in (("tcp", {"MOAI_NO_IPC": 1}), ("ipc", {})):
        r = c.run(app, **extra)
        if r.returncode != 0:
            fail(f"allowed client over {transport}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        print(f"ok: an allowed client runs {os.path.basename(app)} over {transport}")

    # Workers the scheduler must turn away: an unknown key, and no Curve at all.
    _, intruder_secret = c.keygen("intruder", allow=False)
    intruder = c.add_worker("intruder", key=intruder_secret)
    plain = c.add_worker("plain", key="", scheduler_key="")
    time.sleep(3)
    for w in (intruder, plain):
        if "registered with the scheduler" in c.log(w) or f"worker {w.name} registered" in sched_log():
            fail(f"worker {w.name} was let in:\n{sched_log()[-3000:]}")
    if "refused this worker: its key is not allowed" not in c.log(intruder):
        fail("the refused worker did not log why:\n" + c.log(intruder, 2000))
    intruder_key = public_key(c.key("intruder", secret=False))
    if f"public key {intruder_key} is not allowed" not in sched_log():
        fail("the scheduler did not log the unknown worker key:\n" + sched_log()[-3000:])
    if "refused a connection" not in sched_log():
        fail("the scheduler did not log the plain worker:\n" + sched_log()[-3000:])
    print("ok: a worker with an unknown key and a plain worker are refused")

    # Clients the scheduler must turn away, each within seconds.
    _, stranger_secret = c.keygen("stranger", allow=False)
    cases = [
        ("an unknown key", {"MOAI_KEY": stranger_secret}, "refused this client's key"),
        ("no key (plain tcp)", {"MOAI_KEY": None, "MOAI_SCHEDULER_KEY": None}, "set MOAI_SCHEDULER_KEY"),
        ("the wrong scheduler key", {"MOAI_SCHEDULER_KEY": c.key("w0", secret=False)},
         "is MOAI_SCHEDULER_KEY the scheduler's public key?"),
    ]
    for what, extra, message in cases:
        t0 = time.time()
        r = c.run(long_running, ["1"], timeout=30, MOAI_LEASE_TIMEOUT=4, **extra)
        took = time.time() - t0
        if r.returncode == 0 or "ready" in r.stdout:
            fail(f"a client with {what} got a lease: {r.stdout} {r.stderr[-2000:]}")
        if message and message not in r.stderr:
            fail(f"a client with {what}: expected '{message}' in: {r.stderr[-2000:]}")
        if took > 10:
            fail(f"a client with {what} took {took:.1f} s to be refused")
        reason = next((l for l in r.stderr.splitlines() if "error" in l), "")
        print(f"ok: a client with {what} is refused after {took:.2f} s: {reason}")
    stranger_key = public_key(c.key("stranger", secret=False))
    if f"public key {stranger_key} is not allowed" not in sched_log():
        fail("the scheduler did not log the unknown client key")

    # ipc:// stays plain, so its directory must be this user's alone.
    if os.getuid() == 0:
        foreign = os.path.join(c.dir, "foreign-ipc")
        os.mkdir(foreign, 0o700)
        os.chown(foreign, 65534, 65534)
        r = subprocess.run([os.environ["MOAI_WORKER_BIN"], "--scheduler", c.endpoint, "--ipc-dir", foreign,
                            "--scheduler-key", c.key("sched", secret=False), "--key", c.key("w0")],
                           capture_output=True, text=True, timeout=20)
        if r.returncode == 0 or "belongs to another user" not in r.stderr:
            fail(f"a worker used an ipc directory of another user: exit {r.returncode} {r.stderr}")
        print("ok: a worker refuses an ipc directory that is not its user's")

    with urllib.request.urlopen(c.metrics_url + "/metrics", timeout=5) as m:
        refused = [float(l.split()[1]) for l in m.read().decode().splitlines()
                   if l.startswith("moai_refused_peers_total ")]
    if not refused or refused[0] < 5:  # two workers and three clients refused, each at least once
        fail(f"moai_refused_peers_total = {refused}")
    print(f"ok: /metrics counts {refused[0]:.0f} refused connections")

    # A key added to the allow-list directory lets its worker in without a restart.
    shutil.copy(c.key("intruder", secret=False), c.allowed)
    c.wait_registered(timeout=15, workers=[intruder])
    if "allow-list" not in sched_log() or "reloaded" not in sched_log():
        fail("the scheduler did not log the reload")
    print("ok: a key added to the allow-list is let in without a restart")

    # The allowed ones still work after all that.
    r = c.run(app, MOAI_NO_IPC=1)
    if r.returncode != 0:
        fail(f"allowed client after the refusals: exit {r.returncode}: {r.stderr[-2000:]}")
print("CurveZMQ and the allow-list hold")
