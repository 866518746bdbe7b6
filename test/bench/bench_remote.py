"""Remote transfer benchmark: a moai-worker started here, reached over
ipc:// (bulk bytes through shared memory) and tcp:// loopback. Prints, in
one run, H2D/D2H bandwidth of 256 MiB as a ratio to plain ZeroMQ moving the
same bytes between two processes, and the rate of 4-byte cudaMemsetAsync
through the worker. `--quick` uses 32 MiB and 100k ops."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

quick = "--quick" in sys.argv
nbytes = (32 if quick else 256) << 20
ops = 100_000 if quick else 1_000_000
reps = 2 if quick else 3
worker_bin, transfer, baseline = (os.environ[k] for k in ("MOAI_WORKER_BIN", "BENCH_TRANSFER", "BENCH_ZMQ"))


def results(out):
    return {k: float(v) for k, v in re.findall(r"RESULT (\w+)=([\d.]+)", out)}


tmp = tempfile.mkdtemp(prefix="moai-bench-")
ep_file = os.path.join(tmp, "endpoints")
worker = subprocess.Popen([worker_bin, "--token", "bench", "--listen", "tcp://127.0.0.1:*", "--ipc-dir", tmp,
                           "--endpoint-file", ep_file, "--cpu-devices", "1", "--cpu-memory", "2G",
                           "--log-level", "warn"], stdout=subprocess.DEVNULL, start_new_session=True)
try:
    deadline = time.time() + 20
    while not (os.path.exists(ep_file) and os.path.getsize(ep_file)) and time.time() < deadline:
        time.sleep(0.05)
    endpoints = open(ep_file).read().split()
    tcp = next(e for e in endpoints if e.startswith("tcp://"))
    ipc = next(e for e in endpoints if e.startswith("ipc://"))
    rows, status = [], 0
    for name, ep, base_ep in (("ipc", ipc, f"ipc://{tmp}/baseline.sock"), ("tcp", tcp, "tcp://127.0.0.1:0")):
        if base_ep.endswith(":0"):
            import socket
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            base_ep = f"tcp://127.0.0.1:{s.getsockname()[1]}"
            s.close()
        env = dict(os.environ, LD_PRELOAD=os.environ["MOAI_SHIM"], LD_LIBRARY_PATH=os.environ["MOAI_SHIM_DIR"],
                   MOAI_WORKER=ep, MOAI_WORKER_TOKEN="bench", MOAI_LOG="warn")
        r = subprocess.run([transfer, str(nbytes), str(reps), str(ops)], env=env, capture_output=True, text=True,
                           timeout=600)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            sys.exit(1)
        ours = results(r.stdout)
        b = subprocess.run([baseline, base_ep, str(nbytes), str(reps)], capture_output=True, text=True, timeout=600)
        if b.returncode != 0:
            print(b.stdout, b.stderr)
            sys.exit(1)
        zmq_gbps = results(b.stdout)["zmq_gbps"]
        rows.append((name, ours, zmq_gbps))
    print(f"{nbytes >> 20} MiB cudaMemcpy through a moai-worker vs plain ZeroMQ of the same bytes")
    print(f"{'transport':10} {'H2D GB/s':>9} {'D2H GB/s':>9} {'zmq GB/s':>9} {'H2D ratio':>9} {'D2H ratio':>9}  goal")
    for name, ours, z in rows:
        h, d = ours["h2d_gbps"] / z, ours["d2h_gbps"] / z
        ok = "PASS" if min(h, d) >= 0.8 else "MISS"
        print(f"{name:10} {ours['h2d_gbps']:9.2f} {ours['d2h_gbps']:9.2f} {z:9.2f} {h:9.2f} {d:9.2f}  0.80 {ok}")
        print(f"RESULT {name}_h2d_ratio={h:.3f}\nRESULT {name}_d2h_ratio={d:.3f}")
    for name, ours, _ in rows:
        rate = ours["memset_ops_per_s"]
        goal = 200_000 if name == "ipc" else 0
        mark = ("PASS" if rate >= goal else "MISS") if goal else ""
        print(f"{ops} x cudaMemsetAsync(4 B) over {name}: {rate:,.0f} ops/s" + (f", goal {goal:,}/s {mark}" if goal else ""))
        print(f"RESULT {name}_memset_ops_per_s={rate:.0f}")
finally:
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=10)
