"""A worker serving its GPU (the CUDA backend, here over the fake driver):
the job's buffers must sit at the client's own addresses in the worker's
GPU address space, reserved from the range the client sends in its hello.
Programs without kernels run unchanged over ipc:// and tcp://."""
import os
import sys

from cluster import Cluster, fail

fake_driver_dir, apps = sys.argv[1], sys.argv[2:]
with Cluster(workers=1, worker_args=["--backend", "cuda"],
             worker_env={"MOAI_CUDA_DRIVER_DIR": fake_driver_dir}) as c:
    for transport in ("ipc", "tcp"):
        extra = {"MOAI_NO_IPC": "1"} if transport == "tcp" else {}
        for app in apps:
            r = c.run(app, MOAI_EXPECT_DEVICE="Fake GPU", **extra)
            name = os.path.basename(app)
            if r.returncode != 0:
                fail(f"{name} over {transport}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}\n"
                     f"worker: {c.log(c.workers[0], 2000)}")
            print(f"ok {name} over {transport} on the worker's GPU")
    if "serving 1 cuda device(s)" not in c.log(c.workers[0]):
        fail("the worker did not serve its GPU: " + c.log(c.workers[0], 2000))
print("programs ran on a worker's CUDA backend")
