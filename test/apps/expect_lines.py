"""Runs PROGRAM and checks that exactly COUNT lines of its stdout match
REGEX: device printf on a virtual device of several devices prints once per
thread, not once per replica. Usage: expect_lines.py REGEX COUNT PROGRAM..."""
import re
import subprocess
import sys

pattern, count, cmd = re.compile(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
sys.stderr.write(r.stderr)
if r.returncode != 0:
    sys.exit(f"{cmd[0]} failed ({r.returncode}): {r.stdout}")
got = [line for line in r.stdout.splitlines() if pattern.search(line)]
print("\n".join(got))
if len(got) != count:
    sys.exit(f"{len(got)} lines match {sys.argv[1]!r}, want {count}")
