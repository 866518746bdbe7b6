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
    cancel @6 :UInt64;            # anyone: end this job, queued or running (reply: ok)
    drain @7 :Text;               # anyone: no new leases on this worker id (reply: ok)
    undrain @8 :Text;             # anyone: lift a drain (reply: ok)
    resize @9 :Resize;            # anyone: grow or shrink a running lease (reply: ok)
    resized @10 :UInt64;          # client: job id; its data is off the devices leaseChanged dropped
    usage @11 :Void;              # anyone: reply with the usage records
    memoryReport @12 :MemoryReport;  # client: its job's predicted peak memory (no reply)
  }
}

struct MemoryReport {
  jobId @0 :UInt64;
  predictedPeak @1 :UInt64;       # bytes per device: live allocations + the largest workspace seen
  peakAllocated @2 :UInt64;       # bytes per device: the most the job has held allocated so far
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
  jobBusy @4 :List(JobBusy);      # per job open on this worker: device-seconds its work ran here
}

struct JobBusy {
  jobId @0 :UInt64;
  seconds @1 :Float64;            # a counter since the job's session opened on this worker
}

struct LeaseRequest {
  devices @0 :UInt32;
  kind @1 :Text;                  # "" = any
  user @2 :Text;
  placement @3 :Placement;
  minMemoryPerDevice @4 :UInt64;  # bytes; 0 = any
  shareable @5 :Bool;             # the job may share devices with other shareable jobs
  priority @6 :Int32;             # higher first; ties go to the earlier job
  timeLimitSeconds @7 :UInt32;    # 0 = none; the lease ends when it runs out
  predictedMemory @8 :UInt64;     # bytes per device at the job's peak; 0 = unknown (a shareable
                                  # job then gets whole devices)
  shareWeight @9 :UInt32;         # its share of a device's time against other jobs there; 0 = 1
}

struct Resize {
  jobId @0 :UInt64;
  devices @1 :UInt32;             # the new lease size
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
    queued @7 :Queued;            # to the client: not enough free devices; `lease` comes later
    leaseChanged @8 :Lease;       # to the client: its whole lease after a resize; answer `resized`
    dropDevices @9 :DropDevices;  # to a worker that keeps other devices of the job
    ok @10 :Text;                 # to a cancel, drain, undrain or resize: done, and what was done
    usage @11 :Usage;
    quota @12 :Quota;             # to a shared job's workers and client: its memory quota grew
  }
}

struct Quota {
  jobId @0 :UInt64;
  bytes @1 :UInt64;               # per device
}

struct Queued {
  jobId @0 :UInt64;               # keep it alive with keepalive while it waits
  position @1 :UInt32;            # 1 = next
  reason @2 :Text;
}

struct DropDevices {               # the job keeps its other devices on this worker
  jobId @0 :UInt64;
  indices @1 :List(UInt32);
}

struct Lease {
  jobId @0 :UInt64;
  token @1 :Text;
  devices @2 :List(LeasedDevice);
  memoryQuota @3 :UInt64;         # bytes per device the job may allocate; 0 = whole devices
  shareWeight @4 :UInt32;         # LeaseRequest.shareWeight, at least 1
}

struct LeasedDevice {
  workerId @0 :Text;
  endpoints @1 :List(Text);
  index @2 :UInt32;               # device index on that worker
  curveKey @3 :Text;              # the worker's Curve public key (Register.curveKey)
}

struct Status {
  workers @0 :List(WorkerStatus);
  jobs @1 :List(Lease);           # running jobs' leases, tokens left empty
  queue @2 :List(JobStatus);      # every job, queued (in queue order) and running
}

enum JobState {
  queued @0;
  running @1;
}

struct JobStatus {
  jobId @0 :UInt64;
  user @1 :Text;
  state @2 :JobState;
  request @3 :LeaseRequest;
  submitTime @4 :Float64;         # Unix seconds
  startTime @5 :Float64;          # 0 while queued
  position @6 :UInt32;            # in the queue, 1 = next; 0 when running
  reason @7 :Text;                # why it waits
  devices @8 :UInt32;             # leased now (running)
  resizePending @9 :Bool;         # dropped devices wait for the client's `resized`
  memoryQuota @10 :UInt64;        # bytes per device while sharing; 0 = whole devices
  peakAllocated @11 :UInt64;      # bytes per device, from the client's reports
}

struct DeviceStatus {
  index @0 :UInt32;
  uuid @1 :Data;                  # 16 bytes, stable across restarts
  kind @2 :Text;
  name @3 :Text;
  totalMemory @4 :UInt64;
  jobId @5 :UInt64;               # 0 = free; a shared device: its first job
  sharers @6 :List(UInt64);       # the jobs sharing it; empty when free or held whole
  reservedMemory @7 :UInt64;      # the sharers' quotas together
}

struct Usage {
  records @0 :List(UsageRecord);  # one per job that was granted a lease
  minutes @1 :List(UsageMinute);  # per job, wall-clock minute and device kind; the latest ones held in memory
}

struct UsageMinute {
  jobId @0 :UInt64;
  minuteStart @1 :Int64;          # Unix seconds, a multiple of 60
  kind @2 :Text;                  # DeviceProps.kind of the devices counted here
  leasedDeviceSeconds @3 :Float64;
  busySeconds @4 :Float64;        # busy device-seconds reported by heartbeats that arrived in this minute
  cost @5 :Float64;               # busySeconds / 60 x the kind's price per device-minute
}

struct UsageRecord {
  jobId @0 :UInt64;
  user @1 :Text;
  devices @2 :UInt32;             # lease size now, or at its end
  submitTime @3 :Float64;         # Unix seconds
  startTime @4 :Float64;
  endTime @5 :Float64;            # 0 while running
  leasedDeviceSeconds @6 :Float64;
  busySeconds @7 :Float64;        # < 0: not metered yet
  endReason @8 :Text;
  cost @9 :Float64;               # sum of the job's UsageMinute costs
}

struct WorkerStatus {
  workerId @0 :Text;
  alive @1 :Bool;
  devices @2 :UInt32;
  leased @3 :UInt32;
  draining @4 :Bool;              # no new leases; running ones finish
  deviceList @5 :List(DeviceStatus);
}
