#!/usr/bin/python3
"""Makes docs/moai-top.png: a loopback cluster (3 workers x 2 CPU devices,
three jobs of three users), moai-top in a private tmux server at 160x45
with the jobs panel in tree view, its coloured capture drawn by
screen_to_png.py.

    /usr/bin/python3 tools/top/screenshot.py BUILD_DIR docs/moai-top.png

BUILD_DIR must have moai-sched, moai-worker, moai-keygen, the shim, moai-top
and the e2e programs busy_device and long_running built."""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.join(root, "test", "e2e"))
sys.path.insert(0, here)

from cluster import Cluster  # noqa: E402
from screen_to_png import render  # noqa: E402

build, out = os.path.abspath(sys.argv[1]), sys.argv[2]
os.environ.update(MOAI_SCHED_BIN=f"{build}/scheduler/moai-sched", MOAI_WORKER_BIN=f"{build}/modnn/worker/moai-worker",
                  MOAI_KEYGEN_BIN=f"{build}/tools/moai-keygen", MOAI_SHIM=f"{build}/interpose/libmoai_cuda.so",
                  MOAI_SHIM_DIR=f"{build}/interpose")
config = tempfile.mkdtemp(prefix="moai-top-shot-")
socket = os.path.join(config, "tmux.sock")
os.makedirs(os.path.join(config, "moai"))
with open(os.path.join(config, "moai", "top.toml"), "w") as f:
    f.write("panel = 'jobs'\ntree = true\n[sort.devices]\ncolumn = 'util'\ndescending = true\n")
jobs = []
try:
    with Cluster(workers=3, devices_per_worker=2, heartbeat=0.3, metrics=True) as c:
        for program, user, devices in (("busy_device", "alice", 2), ("busy_device", "bob", 1),
                                       ("long_running", "carol", 1)):
            p = subprocess.Popen([f"{build}/test/e2e/{program}", "60"], stdout=subprocess.PIPE, text=True,
                                 env=c.env(USER=user, MOAI_DEVICES=devices))
            p.stdout.readline()
            jobs.append(p)
        cmd = " ".join(shlex.quote(a) for a in ["env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", f"XDG_CONFIG_HOME={config}",
                                                f"{build}/tools/top/moai-top", "--scheduler", c.endpoint,
                                                "--metrics", c.metrics_url, "-d", "0.3"])
        subprocess.run(["tmux", "-S", socket, "-u", "-f", "/dev/null", "new-session", "-d", "-s", "top",
                        "-x", "160", "-y", "45", cmd], check=True, timeout=10)
        time.sleep(12)  # some history for the sparklines
        capture = subprocess.run(["tmux", "-S", socket, "capture-pane", "-e", "-p", "-t", "top"], check=True,
                                 capture_output=True, text=True, timeout=10).stdout
        render(capture).save(out, optimize=True)
        print(capture)
finally:
    for p in jobs:
        p.kill()
        p.wait()
    subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, timeout=10)
    shutil.rmtree(config, ignore_errors=True)
