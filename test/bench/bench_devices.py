"""One virtual device backed by 1, then by N CPU devices (one core each):
the step time of a GEMM-heavy MLP, the speed-up, and that both computed the
same numbers; from the client's plan report (MOAI_PLAN_REPORT) in the same
runs, the planning time of the first and of a cached step and the predicted
against the measured step time; and, on 2 devices, the step with split ops'
outputs kept where they were computed (the default) against all-gathering
them at once (MOAI_GATHER=eager), with the bytes moved between devices.
Each configuration runs twice and keeps its faster run (a shared machine is
noisy). Usage: bench_devices.py BENCH_MLP [--quick]"""
import json
import os
import re
import subprocess
import sys
import tempfile

program = sys.argv[1]
quick = "--quick" in sys.argv
args = ["256", "128", "2", "2"] if quick else ["2048", "512", "2", "3"]
steps = int(args[3]) + 1  # the program's warm-up step included
cores = os.cpu_count() or 1


def run_once(devices, tmp, gather):
    report = os.path.join(tmp, f"plan{devices}{gather}.json")
    env = dict(os.environ, MOAI_DEVICES=str(devices), MOAI_CPU_THREADS="1", MOAI_PLAN_REPORT=report, MOAI_GATHER=gather)
    env.pop("MOAI_SPLIT", None)
    r = subprocess.run([program, *args], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"bench_mlp on {devices} device(s) failed: {r.stdout}{r.stderr}")
    m = re.search(r"step_ms=([\d.]+) checksum=(\S+)", r.stdout)
    with open(report) as f:
        return float(m.group(1)), float(m.group(2)), json.load(f)


def run(devices, tmp, gather="lazy"):
    return min((run_once(devices, tmp, gather) for _ in range(1 if quick else 2)), key=lambda r: r[0])


def member_bytes(j):
    """Bytes moved between devices per step, measured, over the training step's segments."""
    return sum(st.get("member_bytes_measured", 0) for st in j["steps"][-2:])


def step_figures(j):
    """A training step is the segments that ran once per step and hold GEMMs:
    per step, their planning time, predicted (as run) and measured time."""
    segs = [i for i, s in enumerate(j["segments"])
            if s["runs"] == steps and any(op["kind"] == "gemm" for op in s.get("plan", {}).get("ops", []))]
    per = [[st for st in j["steps"] if st["segment"] == i] for i in segs]
    if not segs or any(len(p) != steps for p in per):
        sys.exit("the plan report has no repeated training step")
    total = lambda k, key: sum(p[k][key] for p in per)
    return {
        "segments": len(segs),
        "plan_first": total(0, "planning_s"),
        "first_hit": all(p[0]["cache_hit"] for p in per),
        "plan_cached": sum(total(k, "planning_s") for k in range(1, steps)) / (steps - 1),
        "cached_hit": all(p[k]["cache_hit"] for p in per for k in range(1, steps)),
        "predicted": sum(total(k, "predicted_s") for k in range(1, steps)) / (steps - 1),
        "measured": sum(total(k, "measured_s") for k in range(1, steps)) / (steps - 1),
        "from_plan": sum(p[-1]["gemm_splits_from_plan"] for p in per),
        "gemms": sum(p[-1]["gemms"] for p in per),
        "ew_from_plan": sum(p[-1].get("elementwise_splits_from_plan", 0) for p in per),
        "elementwise": sum(p[-1].get("elementwise", 0) for p in per),
    }


with tempfile.TemporaryDirectory() as tmp:
    one, sum1, j1 = run(1, tmp)
    two, sum2, j2 = run(2, tmp)
    eager, sum3, j3 = run(2, tmp, "eager")
print(f"MLP {args[0]} wide, batch {args[1]}, {args[2]} layers: step {one:.1f} ms on 1 device, "
      f"{two:.1f} ms on 2 (one core each, {cores} cores here)")
print(f"RESULT speedup_2_devices={one / two:.2f} (goal >= 1.7)")
print(f"2 devices, outputs kept where computed: {two:.1f} ms, {member_bytes(j2) / 2**20:.1f} MiB moved per step; "
      f"all-gathered after each split op: {eager:.1f} ms, {member_bytes(j3) / 2**20:.1f} MiB")
print(f"RESULT sharded_vs_eager={eager / two:.2f}")
c = j2["calibration"]
print(f"calibration (2 devices): GEMM {c['gemm_flops'] / 1e9:.1f} GFLOP/s per device, memory {c['memory_bandwidth'] / 1e9:.1f} GB/s, "
      f"link alpha {c['link']['latency_s'] * 1e6:.1f} us beta {c['link']['bandwidth'] / 1e9:.1f} GB/s, in {c['seconds'] * 1e3:.0f} ms")
for devices, step_ms, j in ((1, one, j1), (2, two, j2)):
    f = step_figures(j)
    err = (f["predicted"] * 1e3 - step_ms) / step_ms * 100
    print(f"{devices} device(s): step = {f['segments']} segments; planning first step {f['plan_first'] * 1e3:.3f} ms "
          f"({'miss' if not f['first_hit'] else 'hit'}), cached step {f['plan_cached'] * 1e3:.3f} ms "
          f"({'hits' if f['cached_hit'] else 'NOT ALL HITS'}); predicted step {f['predicted'] * 1e3:.1f} ms, "
          f"measured {step_ms:.1f} ms (segments {f['measured'] * 1e3:.1f} ms): error {err:+.1f}% (goal within 20%); "
          f"GEMM splits from the plan {f['from_plan']}/{f['gemms']}, element-wise {f['ew_from_plan']}/{f['elementwise']}")
    print(f"RESULT predicted_error_pct_{devices}_devices={err:+.1f} planning_first_ms_{devices}={f['plan_first'] * 1e3:.3f} "
          f"planning_cached_ms_{devices}={f['plan_cached'] * 1e3:.3f}")
    if not f["cached_hit"]:
        sys.exit("a repeated step missed the plan cache")
for s in (sum2, sum3):
    if abs(sum1 - s) > 1e-3 * max(1.0, abs(sum1)):
        sys.exit(f"the runs computed different results: {sum1} vs {s}")
