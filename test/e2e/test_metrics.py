"""/metrics of moai-sched, scraped over HTTP and parsed: DCGM device gauges
with their labels, and moai_* gauges that follow the cluster as a program
leases a device, allocates 1 MiB on it, keeps it computing, and ends."""
import re
import subprocess
import sys
import time
import urllib.request

from cluster import Cluster, fail

program = sys.argv[1]
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(url):
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        if not r.headers["Content-Type"].startswith("text/plain; version=0.0.4"):
            fail(f"content type {r.headers['Content-Type']}")
        text = r.read().decode()
    samples = []  # (name, {label: value}, value)
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            fail(f"not an exposition line: {line!r}")
        samples.append((m[1], dict(LABEL.findall(m[2] or "")), float(m[3])))
    return samples


def values(samples, name, **labels):
    return [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items())]


def wait_for(url, what, check, timeout=10):
    deadline = time.time() + timeout
    while True:
        samples = scrape(url)
        if check(samples):
            return samples
        if time.time() > deadline:
            fail(f"{what}; last scrape:\n" + "\n".join(f"{n} {l} {v}" for n, l, v in samples))
        time.sleep(0.2)


with Cluster(workers=2, heartbeat=0.3, memory="1G", metrics=True) as c:
    s = wait_for(c.metrics_url, "two alive workers", lambda s: values(s, "moai_workers_alive") == [2])
    totals = [(l, v) for n, l, v in s if n == "DCGM_FI_DEV_FB_TOTAL"]
    if sorted(l["Hostname"] for l, _ in totals) != ["w0", "w1"]:
        fail(f"DCGM_FI_DEV_FB_TOTAL per worker: {totals}")
    for labels, v in totals:
        if v != 1024 or labels["gpu"] != "0" or not re.match(r"GPU-[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$",
                                                               labels["UUID"]) or not labels["modelName"]:
            fail(f"device labels or size: {labels} {v}")
    if values(s, "moai_devices") != [2] or values(s, "moai_jobs") != [0] or values(s, "moai_devices_leased") != [0]:
        fail("idle cluster counts")
    print("idle:", len(s), "samples;", totals[0][0])

    job = subprocess.Popen([program, "4"], env=c.env(), stdout=subprocess.PIPE, text=True)
    try:
        if job.stdout.readline().strip() != "ready":
            fail("program did not start")
        host = next(w.name for w in c.workers if "opened" in c.log(w))
        s = wait_for(c.metrics_url, "the job's 1 MiB on its device",
                     lambda s: values(s, "DCGM_FI_DEV_FB_USED", Hostname=host) == [1])
        other = "w1" if host == "w0" else "w0"
        s = wait_for(c.metrics_url, "the busy device's utilization, and the idle one's",
                     lambda s: values(s, "DCGM_FI_DEV_GPU_UTIL", Hostname=host) and
                     values(s, "DCGM_FI_DEV_GPU_UTIL", Hostname=host)[0] >= 30 and
                     values(s, "DCGM_FI_DEV_GPU_UTIL", Hostname=other) == [0])
        util = values(s, "DCGM_FI_DEV_GPU_UTIL", Hostname=host)[0]
        if values(s, "DCGM_FI_DEV_FB_FREE", Hostname=host) != [1023]:
            fail("FB_FREE of the leased device")
        if values(s, "moai_device_leased", Hostname=host) != [1] or values(s, "moai_devices_leased") != [1]:
            fail("leased device")
        if (values(s, "moai_device_leased", Hostname=other) != [0] or values(s, "DCGM_FI_DEV_FB_USED", Hostname=other) != [0]
                or values(s, "DCGM_FI_DEV_GPU_UTIL", Hostname=other) != [0]):
            fail("the idle device: " + str([(n, l, v) for n, l, v in s if l.get("Hostname") == other]))
        jobs = [(l, v) for n, l, v in s if n == "moai_job_lease_devices"]
        if len(jobs) != 1 or jobs[0][1] != 1 or values(s, "moai_device_job", Hostname=host) != [float(jobs[0][0]["job"])]:
            fail(f"job gauges: {jobs}")
        busy_s = values(s, "moai_job_busy_seconds", job=jobs[0][0]["job"])
        if len(busy_s) != 1 or not busy_s[0] > 0:
            fail(f"the busy job's metered busy seconds: {busy_s}")
        print(f"busy: job {jobs[0][0]['job']} on {host}, 1 MiB used, {util:.0f} % utilization")
    finally:
        out, _ = job.communicate(timeout=30)
    if job.returncode != 0:
        fail(f"program failed: {out}")
    wait_for(c.metrics_url, "the job's end", lambda s: values(s, "moai_jobs") == [0] and
             values(s, "DCGM_FI_DEV_FB_USED", Hostname=host) == [0] and values(s, "moai_devices_leased") == [0] and
             values(s, "DCGM_FI_DEV_GPU_UTIL", Hostname=host) == [0])
print("metrics follow the cluster")
