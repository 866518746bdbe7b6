"""What CurveZMQ costs the data plane: 128 MiB cudaMemcpy and 4-byte
cudaMemsetAsync through one worker over tcp:// loopback, leased from
moai-sched, with plain tcp and with Curve, alternating runs in one
process. Prints both and the Curve/plain ratio (best of each)."""
import re
import sys

from cluster import Cluster

transfer = sys.argv[1]
nbytes, reps, ops = 128 << 20, 3, 100_000
best = {False: {}, True: {}}
for curve in (False, True, False, True):
    with Cluster(workers=1, memory="2G", curve=curve) as c:
        r = c.run(transfer, [str(nbytes), str(reps), str(ops)], MOAI_NO_IPC=1, timeout=300)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            sys.exit(1)
        for k, v in re.findall(r"RESULT (\w+)=([\d.]+)", r.stdout):
            best[curve][k] = max(best[curve].get(k, 0.0), float(v))
print(f"{nbytes >> 20} MiB over tcp:// through moai-sched + one worker, best of 2 runs each")
print(f"{'':22} {'plain':>10} {'Curve':>10} {'ratio':>6}")
for key, label in (("h2d_gbps", "H2D GB/s"), ("d2h_gbps", "D2H GB/s"), ("memset_ops_per_s", "memset ops/s")):
    p, q = best[False][key], best[True][key]
    print(f"{label:22} {p:10.3f} {q:10.3f} {q / p:6.2f}")
    print(f"RESULT curve_{key}_ratio={q / p:.3f}")
