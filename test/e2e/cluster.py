"""A MoAI cluster on loopback for end-to-end tests: moai-sched plus workers,
each on a free port, stopped at the end even when the test fails.

Used by the test_*.py files in this folder; paths come from the environment
meson sets (MOAI_SCHED_BIN, MOAI_WORKER_BIN, MOAI_SHIM, MOAI_SHIM_DIR,
MOAI_KEYGEN_BIN, and MOAI_CLI_BIN / MOAI_LEASE_CLIENT_BIN for the tests that
use them).

curve=True: CurveZMQ everywhere. Keys are made under DIR/keys (sched, one
per worker, client); the scheduler allows the public keys in DIR/allowed,
which holds the workers' and the client's. metrics=True: /metrics on a free
port, its base URL in .metrics_url. state=True: a state file (SQLite).
"""
import json
import shutil
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time


class Cluster:
    def __init__(self, workers=2, devices_per_worker=1, threads=1, memory="1G", heartbeat=0.5,
                 heartbeat_timeout=2.0, client_timeout=8.0, curve=False, metrics=False, worker_args=(),
                 worker_env=None, state=False, sched_args=()):
        self.workers_wanted = workers
        self.devices = devices_per_worker
        self.threads = threads
        self.memory = memory
        self.heartbeat = heartbeat
        self.heartbeat_timeout = heartbeat_timeout
        self.client_timeout = client_timeout
        self.worker_args = list(worker_args)  # extra moai-worker flags, e.g. ["--backend", "cuda"]
        self.worker_env = worker_env or {}
        self.sched_args = list(sched_args)  # extra moai-sched flags, e.g. ["--price", "cpu=0.06"]
        self.dir = tempfile.mkdtemp(prefix="moai-e2e-")
        self.state = os.path.join(self.dir, "state.db") if state else None  # SQLite file, kept across restarts
        self.sched = None
        self.old_scheds = []  # killed ones, reaped at stop()
        self.clients = []
        self.workers = []
        self.endpoint = None
        self.curve = curve
        self.metrics = metrics
        self.metrics_url = None
        self.keys = os.path.join(self.dir, "keys")
        self.allowed = os.path.join(self.dir, "allowed")

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        # Logs, keys and sockets stay behind only when the test failed.
        if exc_type is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _wait_file(self, path, proc, what, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(path) and os.path.getsize(path) > 0:
                with open(path) as f:
                    return [line.strip() for line in f if line.strip()]
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}; log: {self.log(proc, 4000)}")
            time.sleep(0.05)
        raise RuntimeError(f"{what} did not start; log: {self.log(proc, 4000)}")

    def wait_for(self, what, predicate, timeout=15):
        """Polls `predicate` until it returns something true; fails the test after `timeout` s."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        fail(f"timed out waiting for {what}")

    def log(self, proc, tail=None):
        path = getattr(proc, "log_path", None)
        if path and os.path.exists(path):
            with open(path) as f:
                text = f.read()
            return text[-tail:] if tail else text
        return ""

    def _spawn(self, args, name, env=None):
        log_path = os.path.join(self.dir, name + ".log")
        log = open(log_path, "w")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **env} if env else None)
        proc.log_path = log_path
        return proc

    def keygen(self, name, allow=True):
        """Makes keys/NAME.key{,_secret}; allow: the scheduler (started later) lets it in."""
        r = subprocess.run([os.environ["MOAI_KEYGEN_BIN"], self.keys, name], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"moai-keygen {name}: {r.stderr}")
        public = os.path.join(self.keys, name + ".key")
        if allow:
            os.makedirs(self.allowed, exist_ok=True)
            shutil.copy(public, self.allowed)
        return public, os.path.join(self.keys, name + ".key_secret")

    def key(self, name, secret=True):
        return os.path.join(self.keys, name + (".key_secret" if secret else ".key"))

    def start_scheduler(self, listen="tcp://127.0.0.1:0"):
        ep_file = os.path.join(self.dir, "sched.endpoint")
        if os.path.exists(ep_file):
            os.unlink(ep_file)
        args = [os.environ["MOAI_SCHED_BIN"], "--listen", listen, "--endpoint-file", ep_file,
                "--heartbeat-timeout", str(self.heartbeat_timeout), "--client-timeout", str(self.client_timeout)]
        if self.state:
            args += ["--state", self.state]
        args += self.sched_args
        if self.curve:
            args += ["--key", self.key("sched"), "--allow-keys", self.allowed]
        metrics_file = os.path.join(self.dir, "metrics.endpoint")
        if self.metrics:
            if os.path.exists(metrics_file):
                os.unlink(metrics_file)
            args += ["--metrics-listen", "127.0.0.1:0", "--metrics-endpoint-file", metrics_file]
        self.sched = self._spawn(args, f"sched{len(self.old_scheds)}")
        self.endpoint = self._wait_file(ep_file, self.sched, "moai-sched")[0]
        if self.metrics:
            self.metrics_url = self._wait_file(metrics_file, self.sched, "moai-sched metrics")[0]

    def kill_scheduler(self):
        """kill -9: no chance to save or revoke anything."""
        os.killpg(self.sched.pid, signal.SIGKILL)
        self.sched.wait()
        self.old_scheds.append(self.sched)

    def restart_scheduler(self):
        """A new moai-sched on the same endpoint (and state file), after kill_scheduler()."""
        self.start_scheduler(self.endpoint)

    def start(self):
        if self.curve:
            self.keygen("sched", allow=False)
            self.keygen("client")
            for i in range(self.workers_wanted):
                self.keygen(f"w{i}")
        self.start_scheduler()
        for i in range(self.workers_wanted):
            self.add_worker(f"w{i}")
        self.wait_registered()

    def add_worker(self, name, key=None, scheduler_key=None):
        """key / scheduler_key: the worker's secret key file and the scheduler's
        public key file; with curve=True they default to keys/NAME.key_secret
        and keys/sched.key. "" leaves the flag out."""
        ep_file = os.path.join(self.dir, name + ".endpoint")
        args = [os.environ["MOAI_WORKER_BIN"], "--scheduler", self.endpoint, "--id", name,
                "--listen", "tcp://127.0.0.1:*", "--ipc-dir", os.path.join(self.dir, "ipc"),
                "--endpoint-file", ep_file, "--cpu-devices", str(self.devices),
                "--cpu-threads", str(self.threads), "--cpu-memory", self.memory,
                "--heartbeat", str(self.heartbeat), *self.worker_args]
        if key is None:
            key = self.key(name) if self.curve else ""
        if scheduler_key is None:
            scheduler_key = self.key("sched", secret=False) if self.curve else ""
        if key:
            args += ["--key", key]
        if scheduler_key:
            args += ["--scheduler-key", scheduler_key]
        proc = self._spawn(args, name, self.worker_env)
        proc.name = name
        proc.endpoints = self._wait_file(ep_file, proc, f"moai-worker {name}")
        self.workers.append(proc)
        return proc

    def wait_registered(self, timeout=10, workers=None):
        workers = self.workers if workers is None else workers
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all("registered with the scheduler" in self.log(w) for w in workers):
                return
            time.sleep(0.05)
        raise RuntimeError("workers did not register: " + " | ".join(self.log(w, 2000) for w in workers))

    def env(self, **extra):
        env = dict(os.environ)
        env["LD_PRELOAD"] = os.environ["MOAI_SHIM"]
        env["LD_LIBRARY_PATH"] = os.environ["MOAI_SHIM_DIR"]
        env["MOAI_SCHEDULER"] = self.endpoint
        env.setdefault("MOAI_LOG", "warn")
        # Programs remember their memory peaks here, not in the user's ~/.cache.
        env.setdefault("MOAI_MEMORY_HISTORY", os.path.join(self.dir, "memory-history"))
        if self.curve:
            env["MOAI_SCHEDULER_KEY"] = self.key("sched", secret=False)
            env["MOAI_KEY"] = self.key("client")
        for k, v in extra.items():  # None removes a variable
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def run(self, program, args=(), timeout=120, **extra):
        return subprocess.run([program, *args], env=self.env(**extra), capture_output=True, text=True,
                              timeout=timeout)

    def moai(self, *args):
        """Runs the moai CLI against this cluster; returns the CompletedProcess."""
        return subprocess.run([os.environ["MOAI_CLI_BIN"], "--scheduler", self.endpoint, *map(str, args)],
                              capture_output=True, text=True, timeout=30)

    def moai_json(self, *args):
        r = self.moai("--json", *args)
        if r.returncode != 0:
            raise RuntimeError(f"moai {' '.join(map(str, args))} exited {r.returncode}: {r.stderr}")
        return json.loads(r.stdout)

    def lease_client(self, devices, seconds, **env):
        """test/e2e/lease_client: holds a lease of `devices` for `seconds`; stdout is a pipe."""
        e = dict(os.environ)
        e.setdefault("MOAI_LOG", "warn")
        e.update({k: str(v) for k, v in env.items()})
        proc = subprocess.Popen([os.environ["MOAI_LEASE_CLIENT_BIN"], self.endpoint, str(devices), str(seconds)],
                                env=e, stdout=subprocess.PIPE, text=True, start_new_session=True)
        proc.lines = queue.Queue()  # read by a thread, so waiting for a line can time out

        def pump():
            for line in proc.stdout:
                proc.lines.put(line.strip())
            proc.lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        self.clients.append(proc)
        return proc

    def job(self, job_id):
        """The job's entry in `moai jobs --json`, or None."""
        return next((j for j in self.moai_json("jobs") if j["job"] == job_id), None)

    def stop(self):
        for proc in self.clients:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for proc in self.workers + ([self.sched] if self.sched else []):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.workers + ([self.sched] if self.sched else []):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def readline(proc, timeout=15):
    """The next line a lease_client printed, or fail after `timeout` s."""
    try:
        line = proc.lines.get(timeout=timeout)
    except queue.Empty:
        fail(f"no output from pid {proc.pid} in {timeout} s")
    if line is None:
        fail(f"pid {proc.pid} exited with {proc.wait()} before printing more")
    return line


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)
