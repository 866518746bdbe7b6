"""moai-top against a live cluster: `--once --json` and `--once`, then the
full-screen view inside a private tmux server (160x45, its socket in a
temporary folder): the job's row, sort (by utilisation, inverted), filter
by user and kind, tree, help, resize, cancel and drain (which this
scheduler does not support and must say so), a narrower window, the banner when
the scheduler dies and its disappearance when one comes back on the same
endpoint, quit, and the saved preferences. Last, a CurveZMQ scheduler: keys
from MOAI_SCHEDULER_KEY / MOAI_KEY, and a clear error without them.

argv: moai-top, a program that keeps its device busy (busy_device).
MOAI_TOP_CAPTURE=PATH saves the coloured screen (capture-pane -e) of the
tree view there; tools/top/screen_to_png.py draws such a capture."""
import json
import re
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from cluster import Cluster, fail

top, busy = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
if not shutil.which("tmux"):
    print("tmux is not installed (scripts/install-deps.sh)")
    sys.exit(77)

USER = "toptester"


def tmux(*args, check=True):
    r = subprocess.run(["tmux", "-S", SOCKET, *args], capture_output=True, text=True, timeout=10)
    if check and r.returncode != 0:
        fail(f"tmux {' '.join(args)}: {r.stderr}")
    return r.stdout


def screen():
    return tmux("capture-pane", "-p", "-t", "top")


def wait_screen(what, check, timeout=15):
    deadline = time.time() + timeout
    while True:
        text = screen()
        if check(text):
            return text
        if time.time() > deadline:
            fail(f"{what}; the screen:\n{text}")
        time.sleep(0.1)


def keys(*k):
    tmux("send-keys", "-t", "top", *k)


def panel(text, title):
    """The rows of one panel: the lines after its title and header, up to the next title."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l[1:].startswith(" " + title + " ("))
    rows = []
    for l in lines[start + 2:]:
        if l[1:3] == " " + l[2:3] and l[2:3].isupper() and " (" in l:  # next panel title
            break
        if not l.strip():
            break
        rows.append(l)
    return rows


def top_args(c):
    return [top, "--scheduler", c.endpoint, "--metrics", c.metrics_url]


config = tempfile.mkdtemp(prefix="moai-top-test-")
SOCKET = os.path.join(config, "tmux.sock")  # a private server, removed with the folder
try:
    with Cluster(workers=2, heartbeat=0.3, metrics=True) as c:
        job = subprocess.Popen([busy, "120"], env=c.env(USER=USER), stdout=subprocess.PIPE, text=True)
        try:
            if job.stdout.readline().strip() != "ready":
                fail("program did not start")
            host = next(w.name for w in c.workers if "opened" in c.log(w))
            other = "w1" if host == "w0" else "w0"

            # --- --once --json and --once ---
            env = {**os.environ, "XDG_CONFIG_HOME": config}
            r = subprocess.run(top_args(c) + ["--once", "--json"], capture_output=True, text=True, timeout=20, env=env)
            if r.returncode != 0:
                fail(f"--once --json exited {r.returncode}: {r.stderr}")
            snap = json.loads(r.stdout)
            if snap["error"] is not None or snap["metrics_error"] is not None:
                fail(f"errors in the snapshot: {snap['error']} {snap['metrics_error']}")
            workers = {w["id"]: w for w in snap["workers"]}
            if sorted(workers) != ["w0", "w1"] or not all(w["alive"] and w["devices"] == 1 for w in workers.values()):
                fail(f"workers: {snap['workers']}")
            if workers[host]["leased"] != 1 or workers[other]["leased"] != 0:
                fail(f"leased counts: {snap['workers']}")
            devices = {d["worker"]: d for d in snap["devices"]}
            if sorted(devices) != ["w0", "w1"]:
                fail(f"devices: {snap['devices']}")
            for d in devices.values():
                if d["kind"] != "cpu" or d["memory_total_mib"] != 1024 or not d["uuid"].startswith("GPU-"):
                    fail(f"device fields: {d}")
            if len(snap["jobs"]) != 1:
                fail(f"jobs: {snap['jobs']}")
            j = snap["jobs"][0]
            if j["user"] != USER or j["devices"] != [{"worker": host, "index": 0}] or j["state"] != "running":
                fail(f"job: {j}")
            if devices[host]["jobs"] != [j["id"]] or devices[other]["jobs"] != []:
                fail(f"device jobs: {snap['devices']}")
            if snap["summary"]["devices_allocated"] != 1 or snap["summary"]["workers_up"] != 2:
                fail(f"summary: {snap['summary']}")
            job_id = str(j["id"])
            r = subprocess.run(top_args(c) + ["--once"], capture_output=True, text=True, timeout=20, env=env)
            if r.returncode != 0 or USER not in r.stdout or "Workers 2 up, 0 down" not in r.stdout:
                fail(f"--once text ({r.returncode}): {r.stdout} {r.stderr}")
            print(f"--once --json: job {job_id} of {USER} on {host}")

            # --- the full screen under tmux ---
            # The shell records moai-top's exit status: tmux 3.3 does not always reap
            # a pane's process in time to report it (#{pane_dead_status}).
            stderr_path, status_path = os.path.join(config, "moai-top.stderr"), os.path.join(config, "moai-top.status")
            cmd = " ".join(shlex.quote(a) for a in ["env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
                                                    f"XDG_CONFIG_HOME={config}", *top_args(c), "-d", "0.3"])
            cmd += f" 2>{shlex.quote(stderr_path)}; echo $? >{shlex.quote(status_path)}.tmp; " \
                   f"mv {shlex.quote(status_path)}.tmp {shlex.quote(status_path)}"
            tmux("-u", "-f", "/dev/null", "new-session", "-d", "-s", "top", "-x", "160", "-y", "45", cmd)
            text = wait_screen("both workers and the job", lambda t: USER in t and "Workers 2 up" in t and
                               len(panel(t, "Devices")) == 2)
            rows = panel(text, "Devices")
            if not (rows[0].startswith("w0") and rows[1].startswith("w1")) or "WORKER▲" not in text:
                fail(f"default order is by worker:\n{text}")

            # Sort by utilisation, highest first: the busy device leads.
            def util(t, worker):
                row = next((r for r in panel(t, "Devices") if r.startswith(worker)), "")
                m = re.search(r"\[\|*\s*(\d+)%\]", row)
                return int(m[1]) if m else None
            wait_screen("the busy device's utilisation, and the idle one's",
                        lambda t: (util(t, host) or 0) > 0 and util(t, other) == 0)
            keys(">", ">", ">", "i")
            text = wait_screen("sorted by utilisation, descending", lambda t: "UTIL▼" in t)
            if not panel(text, "Devices")[0].startswith(host):
                fail(f"the busy device {host} is not first:\n{text}")
            keys("i")
            text = wait_screen("ascending", lambda t: "UTIL▲" in t)
            if not panel(text, "Devices")[0].startswith(other):
                fail(f"ascending utilisation should start with the idle {other}:\n{text}")

            # Filter by the user: only the job's device and worker remain.
            keys("/", *USER, "Enter")
            text = wait_screen("the filter", lambda t: f"filter: {USER}" in t and len(panel(t, "Devices")) == 1)
            if not panel(text, "Devices")[0].startswith(host) or len(panel(text, "Workers")) != 1:
                fail(f"filter by user:\n{text}")
            keys("/", "Escape")
            wait_screen("the filter cleared", lambda t: "filter:" not in t and len(panel(t, "Devices")) == 2)
            keys("/", "c", "p", "u", "Enter")  # by kind: both devices
            wait_screen("filter by kind", lambda t: "filter: cpu" in t and len(panel(t, "Devices")) == 2)
            keys("Escape")

            # Tree view of the jobs panel; resize asks for N and the scheduler answers.
            keys("Tab", "t")
            text = wait_screen("the tree", lambda t: f"└─ {host}/0" in t and "> Jobs (1)" in t)
            if os.environ.get("MOAI_TOP_CAPTURE"):
                with open(os.environ["MOAI_TOP_CAPTURE"], "w") as f:
                    f.write(tmux("capture-pane", "-e", "-p", "-t", "top"))
            keys("r")
            wait_screen("the resize prompt", lambda t: f"Resize job {job_id} to how many devices?" in t)
            keys("9", "Enter")  # more devices than the cluster has: the scheduler refuses, and says why
            text = wait_screen("resize refused", lambda t: f"resize job {job_id}:" in t.splitlines()[-1])
            if "cannot grow" not in text.splitlines()[-1]:
                fail(f"resize message:\n{text}")
            keys("Tab", "d", "y")  # the selected worker: drained, then undrained with the CLI
            drained = wait_screen("drained", lambda t: "drain" in t.splitlines()[-1] and "not" not in t.splitlines()[-1])
            c.wait_for("the drain in the scheduler", lambda: any(w.get("draining") for w in c.moai_json("workers")))
            for w in c.moai_json("workers"):
                if w.get("draining"):
                    c.moai("undrain", w["worker"])
            keys("BTab")  # back to the jobs panel
            keys("c")
            wait_screen("the cancel question", lambda t: f"Cancel job {job_id}? y/n" in t)
            keys("y")
            wait_screen("cancelled", lambda t: f"job {job_id}" in t.splitlines()[-1] and "cancel" in t.splitlines()[-1].lower())
            c.wait_for("the job to end", lambda: c.job(int(job_id)) is None)
            keys("Tab")  # the workers panel again

            keys("h")
            wait_screen("help", lambda t: "invert the sort order" in t)
            keys("Space")
            wait_screen("help closed", lambda t: "invert the sort order" not in t and "> Workers" in t)

            # A narrower terminal: the layout follows (no UUID column under 110 columns).
            tmux("resize-window", "-t", "top", "-x", "100", "-y", "30")
            text = wait_screen("the narrow layout", lambda t: "GPU-" not in t and "UTIL" in t)
            if max(len(l) for l in text.splitlines()) > 100:
                fail(f"lines wider than the terminal:\n{text}")
            tmux("resize-window", "-t", "top", "-x", "160", "-y", "45")
            wait_screen("the wide layout again", lambda t: "GPU-" in t)

            # The scheduler dies: a banner, and the screen still answers keys.
            endpoint = c.endpoint
            os.killpg(c.sched.pid, signal.SIGTERM)
            c.sched.wait(timeout=10)
            wait_screen("the connection-lost banner", lambda t: "CONNECTION LOST" in t)
            keys("h")
            wait_screen("help while disconnected", lambda t: "invert the sort order" in t, timeout=3)
            keys("Space")
            # One comes back on the same endpoint: the banner goes, the workers re-register.
            c.sched = c._spawn([os.environ["MOAI_SCHED_BIN"], "--listen", endpoint, "--heartbeat-timeout", "2",
                                "--client-timeout", "3", "--metrics-listen", c.metrics_url.split("//")[1]], "sched2")
            wait_screen("reconnected", lambda t: "CONNECTION LOST" not in t and "/metrics unavailable" not in t and
                        "Workers 2 up" in t, timeout=20)

            keys("q")
            deadline = time.time() + 5
            while not os.path.exists(status_path):
                if time.time() > deadline:
                    fail("moai-top did not exit on q; its stderr: " + open(stderr_path).read() + "; the screen:\n" +
                         screen())
                time.sleep(0.1)
            status = open(status_path).read().strip()
            if status != "0":
                fail(f"moai-top exited {status} on q; its stderr: " + open(stderr_path).read())
            prefs = open(os.path.join(config, "moai", "top.toml")).read()
            for want in ("panel = 'workers'", "tree = true", "[sort.devices]\ncolumn = 'util'"):
                if want not in prefs:
                    fail(f"preferences lack {want!r}:\n{prefs}")
            print("tmux: sort, filter, tree, resize refused with the reason, drain, cancel, help, banner, reconnect, quit, preferences")
        finally:
            job.kill()
            job.communicate(timeout=10)

    # A CurveZMQ scheduler: the client's keys from the environment, as for programs.
    with Cluster(workers=1, curve=True) as c:
        env = {**os.environ, "XDG_CONFIG_HOME": config, "MOAI_SCHEDULER_KEY": c.key("sched", secret=False),
               "MOAI_KEY": c.key("client")}
        r = subprocess.run([top, "--scheduler", c.endpoint, "--once", "--json"], capture_output=True, text=True,
                           timeout=20, env=env)
        if r.returncode != 0 or [w["id"] for w in json.loads(r.stdout)["workers"]] != ["w0"]:
            fail(f"--once --json with Curve keys ({r.returncode}): {r.stdout} {r.stderr}")
        env.pop("MOAI_SCHEDULER_KEY")
        r = subprocess.run([top, "--scheduler", c.endpoint, "--once", "--timeout", "1"], capture_output=True, text=True,
                           timeout=20, env=env)
        if r.returncode != 1 or "MOAI_SCHEDULER_KEY" not in r.stderr:
            fail(f"a plain moai-top against a Curve scheduler ({r.returncode}): {r.stderr}")
        print("curve: keys from MOAI_SCHEDULER_KEY / MOAI_KEY; without them a clear error")
finally:
    subprocess.run(["tmux", "-S", SOCKET, "kill-server"], capture_output=True, timeout=10)
    shutil.rmtree(config, ignore_errors=True)
print("moai-top follows the cluster")
