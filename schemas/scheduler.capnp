# Workers and clients <-> moai-sched: the control plane. No bulk data and no
# op ever crosses it.
@0x9e2b7d4c1f3a5e61;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("moai::schema");

using Worker = import "worker.capnp";

struct ToScheduler {
  union {
    register @0 :Register;        # worker: here are my devices
    heartbeat @1 :Heartbeat;      # worker: still alive
    requestLease @2 :LeaseRequest;  # client
    keepalive @3 :UInt64;         # client: job id, still running (no reply unless the job is unknown)
    release @4 :UInt64;           # client: job id, done (reply: released)
    status @5 :Void;              # anyone: reply with the inventory
  }
}

struct Register {
  workerId @0 :Text;              # stable name, e.g. host:port
  endpoints @1 :List(Text);       # where clients reach it (tcp://..., ipc://...)
  devices @2 :List(Worker.DeviceProps);
  curveKey @3 :Text;              # Z85 public key of its tcp:// data port; "" = plain tcp
}

struct Heartbeat {               # no reply; error NOT_REGISTERED means register again
  workerId @0 :Text;
  memoryUsed @1 :List(UInt64);    # per device: bytes its jobs hold allocated; empty = not reported
  busySeconds @2 :List(Float64);  # per device: seconds spent running jobs' work since the worker
                                  # started (a counter); empty = not reported
  uptimeSeconds @3 :Float64;      # since the worker started, on the clock busySeconds uses
}

struct LeaseRequest {
  devices @0 :UInt32;
  kind @1 :Text;                  # "" = any
  user @2 :Text;
  placement @3 :Placement;
}

enum Placement {
  unset @0;                       # the scheduler's configured default
  pack @1;                        # fewest workers first
  spread @2;                      # one device per worker first
}

struct FromScheduler {
  union {
    registered @0 :Void;
    lease @1 :Lease;              # to the client that asked
    grant @2 :Lease;              # to each worker in a lease: accept this token
    revoke @3 :UInt64;            # to the lease's workers: job id ended, drop it; also to
                                  # the client when its lease ends other than by release
    error @4 :Worker.Error;
    status @5 :Status;
    released @6 :UInt64;          # to the client: its release of this job id is done
  }
}

struct Lease {
  jobId @0 :UInt64;
  token @1 :Text;
  devices @2 :List(LeasedDevice);
}

struct LeasedDevice {
  workerId @0 :Text;
  endpoints @1 :List(Text);
  index @2 :UInt32;               # device index on that worker
  curveKey @3 :Text;              # the worker's Curve public key (Register.curveKey)
}

struct Status {
  workers @0 :List(WorkerStatus);
  jobs @1 :List(Lease);           # tokens left empty
}

struct WorkerStatus {
  workerId @0 :Text;
  alive @1 :Bool;
  devices @2 :UInt32;
  leased @3 :UInt32;
}
