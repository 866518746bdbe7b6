"""moai-plan end to end: the GPT-3 175B / 1,024 A100 prediction lies near
Megatron-LM's published throughput and the comparison table is printed; a
recorded graph is planned and its repeated segment comes from the plan cache;
a bad recording is refused with its line number."""
import os
import re
import subprocess
import sys

exe, examples = sys.argv[1], sys.argv[2]


def run(*args, expect_rc=0):
    p = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
    if p.returncode != expect_rc:
        sys.exit(f"moai-plan {' '.join(args)}: exit {p.returncode}, wanted {expect_rc}\n{p.stdout}{p.stderr}")
    return p.stdout + p.stderr


a100 = os.path.join(examples, "a100-80gb-selene.toml")
out = run("--cluster", a100, "--transformer", "gpt3-175b", "--devices", "1024")
print(out)
m = re.search(r"predicted step time ([\d.]+) s, (\d+) tokens/s, ([\d.]+) TFLOP/s per GPU \(([\d.]+)% of peak\), MFU ([\d.]+)%", out)
if not m:
    sys.exit("no prediction line")
tflops = float(m.group(3))
# Megatron-LM (Narayanan et al. SC'21): 138-163 TFLOP/s per GPU over Table 1; 140 for 175B on 1024 GPUs.
if not 0.75 * 138 <= tflops <= 1.25 * 163:
    sys.exit(f"predicted {tflops} TFLOP/s per GPU, outside 25% of Megatron's 138-163")
if float(m.group(5)) >= float(m.group(4)):
    sys.exit("MFU (no recomputation) must be below the paper-style % of peak")
if "Predicted vs published Megatron-LM throughput" not in out or "arXiv:2104.04473" not in out:
    sys.exit("comparison table missing")
row = re.search(r"^gpt3-175b\s+1024\s+1536 \| not given 140 \(45%\) \|.*\|\s*t(\d+) p(\d+) d(\d+) b(\d+)\*?\s+(\d+) \((\d+)%\)",
                out, re.M)
if not row:
    sys.exit("no 175B / 1024-GPU row in the table")
t, p, d = int(row.group(1)), int(row.group(2)), int(row.group(3))
if t * p * d != 1024:
    sys.exit("the searched degrees do not use 1024 GPUs")
if not re.search(r"^megatron-1t\s+3072\s+3072 \| t8 p64\s+163 \(52%\)", out, re.M):
    sys.exit("no 1T / 3072-GPU row")

cpu = os.path.join(examples, "cpu-workers.toml")
out = run("--cluster", cpu, "--graph", os.path.join(examples, "mlp-2048.jsonl"), "--devices", "2")
print(out)
if not re.search(r"MFU [\d.]+%", out):
    sys.exit("no MFU for the recorded graph")
if "segment 1: same graph as an earlier segment, plan from the cache" not in out:
    sys.exit("the second step was not a plan-cache hit")
speedup = re.search(r"1 device [\d.]+ m?s \(([\d.]+)x", out)
if not speedup or float(speedup.group(1)) <= 1.2:
    sys.exit("a GEMM-heavy MLP on 2 devices should be predicted faster than on 1")

bad = os.path.join(os.environ.get("MESON_BUILD_ROOT", "/tmp"), "moai_plan_bad.jsonl")
with open(bad, "w") as f:
    f.write('{"moai_graph":1}\n{"tensor":0,"alloc":1,"offset":0,"dtype":"f32","shape":[-4]}\n')
out = run("--cluster", cpu, "--graph", bad, expect_rc=1)
os.unlink(bad)
if "line 2" not in out:
    sys.exit("a bad recording must be refused with its line: " + out)
print("ok")
