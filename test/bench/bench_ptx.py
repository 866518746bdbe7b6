"""Runs bench_ptx under the shim with the engine's statistics on, and adds
thread-instructions per second per core to its table."""
import os
import re
import subprocess
import sys

env = dict(os.environ, LD_PRELOAD=os.environ["MOAI_SHIM"], LD_LIBRARY_PATH=os.environ["MOAI_SHIM_DIR"],
           MOAI_PTX_STATS="1", MOAI_LOG="warn")
r = subprocess.run([os.environ["BENCH_PTX"], *sys.argv[1:]], env=env, capture_output=True, text=True, timeout=600)
print(r.stdout, end="")
if r.returncode != 0:
    print(r.stderr, file=sys.stderr)
    sys.exit(r.returncode)
stats = re.findall(r"moai ptx stats: (\d+) thread-instructions in ([\d.]+) s on (\d+) threads", r.stderr)
for name, (insts, secs, threads) in zip(("SAXPY", "tiled matmul"), stats):
    rate = int(insts) / float(secs) / int(threads)
    print(f"{name}: {int(insts):,} thread-instructions, {rate / 1e6:,.0f} M thread-instructions/s per core")
    print(f"RESULT {name.replace(' ', '_').lower()}_tips_per_core={rate:.0f}")
