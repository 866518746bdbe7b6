"""The client's planning end to end, no daemons: a cuBLAS + kernels training
program run under MOAI_RECORD writes a recording that moai-plan plans; run
on a virtual device of 2 CPU devices with MOAI_PLAN_REPORT=path, it still
computes the right losses (it checks them itself) with plans driving its
GEMM splits (by columns, and by K with partial sums reduced) and
element-wise kernel splits, prints the report, and the JSON has every op, predicted and
measured times, and a cache hit for the repeated step.
Usage: test_plan_report.py APP MOAI_PLAN CLUSTER_TOML"""
import json
import os
import subprocess
import sys
import tempfile

app, moai_plan, cluster = sys.argv[1], sys.argv[2], sys.argv[3]
base = dict(os.environ, LD_PRELOAD=os.environ["MOAI_SHIM"], LD_LIBRARY_PATH=os.environ["MOAI_SHIM_DIR"],
            MOAI_LOG="warn", MOAI_CPU_THREADS="1", MOAI_CPU_MEMORY="2G")
base.pop("MOAI_SPLIT", None)


def run(cmd, env=None):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    return p


with tempfile.TemporaryDirectory() as tmp:
    # 1. Record, then plan the recording without running it.
    recording = os.path.join(tmp, "steps.jsonl")
    run([app], dict(base, MOAI_RECORD=recording))
    with open(recording) as f:
        lines = f.read().splitlines()
    if lines[0] != '{"moai_graph":1}' or not any('"op":"gemm"' in l for l in lines):
        sys.exit("the recording has no header or no GEMM")
    p = run([moai_plan, "--cluster", cluster, "--graph", recording, "--devices", "2"])
    if "plan " not in p.stdout or "predicted step" not in p.stdout:
        sys.exit("moai-plan printed no plan:\n" + p.stdout)
    print(p.stdout.splitlines()[0])

    # 2. Two devices, plans driving the GEMM splits, report and JSON.
    report = os.path.join(tmp, "plan.json")
    p = run([app], dict(base, MOAI_DEVICES="2", MOAI_PLAN_REPORT=report))
    print(p.stderr)
    for want in ("moai plan report: 2 devices", "GEMM", "link 0->1", "planning: first step", "predicted"):
        if want not in p.stderr:
            sys.exit(f"report lacks '{want}'")
    with open(report) as f:
        j = json.load(f)
    if j["devices"] != 2 or j["calibration"]["gemm_flops"] <= 0 or j["calibration"]["link"]["bandwidth"] <= 0:
        sys.exit("calibration missing from the JSON")
    for s in j["segments"]:
        if "plan" not in s:
            sys.exit(f"segment {s['key']} not planned: {s.get('not_planned')}")
        if not (len(s["plan"]["ops"]) == s["ops"] == len(s["as_run"])):
            sys.exit(f"segment {s['key']}: {s['ops']} ops, plan has {len(s['plan']['ops'])}, as run {len(s['as_run'])}")
    for st in j["steps"]:
        for key in ("predicted_s", "measured_s", "planning_s", "cache_hit", "bytes_moved"):
            if key not in st:
                sys.exit(f"a step lacks {key}")
    repeated = [i for i, s in enumerate(j["segments"]) if s["runs"] >= 2 and any(op["kind"] == "gemm" for op in s["plan"]["ops"])]
    if not repeated:
        sys.exit("no repeated segment with GEMMs (a training step)")
    runs = [st for st in j["steps"] if st["segment"] == repeated[0]]
    if runs[0]["cache_hit"] or not runs[1]["cache_hit"]:
        sys.exit("the second step was not a plan-cache hit")
    if not all(st["measured_s"] > 0 and st["predicted_s"] > 0 for st in runs):
        sys.exit("a step has no predicted or measured time")
    if not any(st["gemm_splits_from_plan"] > 0 for st in runs[1:]):
        sys.exit("no GEMM followed the plan after the first step")
    # Split ops' outputs stay where they were computed and consumers pull what
    # they read: the group counts those bytes, and the as-run model, which
    # follows where each split left its output, predicts them within 2x.
    moved = [st["member_bytes_measured"] for st in runs[1:]]
    predicted = [st["bytes_moved"] for st in runs[1:]]
    if not any(moved) or not all(m <= 2 * p + 65536 and p <= 2 * m + 65536 for m, p in zip(moved, predicted)):
        sys.exit(f"member-to-member bytes measured {moved}, predicted {predicted}")
    # Its kernels are element-wise by their PTX (kernel_footprint.h): the
    # graph says so, and where the plan splits one, the group ran it split.
    kernels = [(op, ran) for s in j["segments"] for op, ran in zip(s["plan"]["ops"], s["as_run"])
               if op["name"].startswith("_Z")]
    if not any(op["kind"] == "elementwise" for op, _ in kernels):
        sys.exit("no kernel of the program was recognised as element-wise: " + str([op["name"] for op, _ in kernels]))
    for op, ran in kernels:
        if op["kind"] == "elementwise" and op["strategy"].startswith("split") and not ran["differs"] \
                and ran["ran"] != op["strategy"]:
            sys.exit(f"kernel {op['name']} planned {op['strategy']} but ran {ran['ran']}")
    # Weight gradients (K = the batch, which earlier splits left sharded) are
    # where the plan splits by K; the group runs them so, reducing the partial
    # sums between the members (the program's losses check the result).
    gemms = [(op, ran) for s in j["segments"] for op, ran in zip(s["plan"]["ops"], s["as_run"]) if op["kind"] == "gemm"]
    by_k = [ran for op, ran in gemms if op["strategy"] == "split K" and not ran["differs"]]
    if not by_k or any(ran["ran"] != "split K" for ran in by_k):
        sys.exit("no GEMM planned and run split K: " + str([(op["strategy"], ran["ran"]) for op, ran in gemms]))
    print(f"{len(j['segments'])} graphs, {len(j['steps'])} segments; training step: {len(runs)} runs, "
          f"plan-cache hits from the second; GEMMs from the plan: {runs[-1]['gemm_splits_from_plan']}/{runs[-1]['gemms']}")
