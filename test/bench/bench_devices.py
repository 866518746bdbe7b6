"""One virtual device backed by 1, then by N CPU devices (one core each):
the step time of a GEMM-heavy MLP, the speed-up, and that both computed the
same numbers. Usage: bench_devices.py BENCH_MLP [--quick]"""
import os
import re
import subprocess
import sys

program = sys.argv[1]
quick = "--quick" in sys.argv
args = ["256", "128", "2", "2"] if quick else ["2048", "512", "2", "3"]
cores = os.cpu_count() or 1


def run(devices):
    env = dict(os.environ, MOAI_DEVICES=str(devices), MOAI_CPU_THREADS="1")
    r = subprocess.run([program, *args], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"bench_mlp on {devices} device(s) failed: {r.stdout}{r.stderr}")
    m = re.search(r"step_ms=([\d.]+) checksum=(\S+)", r.stdout)
    return float(m.group(1)), float(m.group(2))


one, sum1 = run(1)
two, sum2 = run(2)
print(f"MLP {args[0]} wide, batch {args[1]}, {args[2]} layers: step {one:.1f} ms on 1 device, "
      f"{two:.1f} ms on 2 (one core each, {cores} cores here)")
print(f"RESULT speedup_2_devices={one / two:.2f} (goal >= 1.7)")
if abs(sum1 - sum2) > 1e-3 * max(1.0, abs(sum1)):
    sys.exit(f"the two runs computed different results: {sum1} vs {sum2}")
