# Client <-> worker: the data plane. A client sends one-way command batches
# and numbered requests; the worker answers only requests. Every address is
# a virtual address of the job; the worker checks each one against the
# job's own allocations before use.
@0xcb8a25159e8ed038;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("moai::schema");

# 2: one-way worker->worker copies (awaitPeer, peerBytes), launch block ranges.
const protocolVersion :UInt32 = 2;

struct ClientMessage {
  union {
    hello @0 :Hello;
    commands @1 :List(Command);   # one-way, executed in order
    request @2 :Request;          # answered by a WorkerMessage with the same id
    bye @3 :Void;                 # the job is done: free everything
    peerBytes @4 :PeerBytes;      # worker -> worker: a one-way copy's bytes
  }
}

struct Hello {
  protocolVersion @0 :UInt32;
  jobId @1 :UInt64;
  token @2 :Text;                 # issued by the scheduler with the lease
  shmName @3 :Text;               # ipc only: the client's staging segment, "" over tcp;
                                  # from another worker of the job: the ring of its peerBytes
  shmSize @4 :UInt64;
}

struct Command {
  device @0 :UInt32;              # index among the devices the lease gave this worker
  union {
    alloc @1 :Range;
    free @2 :UInt64;              # va of an allocation
    write @3 :Write;
    moduleUpload @4 :ModuleUpload;  # sent once per worker and content hash
    copy @5 :Copy;
    fill @6 :Fill;
    moduleLoad @7 :ModuleLoad;
    launch @8 :Launch;
    gemm @9 :Gemm;
    blas @10 :Blas;
    copyToPeer @11 :CopyToPeer;
    recordEvent @12 :UInt64;      # the client's event id: note the worker's clock when
                                  # every earlier command of the job has run
    awaitPeer @13 :AwaitPeer;
  }
}

# Worker -> worker: this worker sends [src, src+size) of `device` straight to
# another worker of the same lease, which writes it at dst on its device
# peerDevice. The sending worker connects as the same job (same token).
struct CopyToPeer {
  src @0 :UInt64;
  size @1 :UInt64;
  peerEndpoints @2 :List(Text);
  peerDevice @3 :UInt32;          # index among the job's devices on that worker
  dst @4 :UInt64;
  peerKey @5 :Text;               # the peer's tcp:// CurveZMQ public key (Z85), "" = plain tcp
  transfer @6 :UInt64;            # 0: the command completes once the peer has the bytes;
                                  # else one-way: the bytes wait at the peer for the
                                  # awaitPeer command with this id
}

# The receiving end of a one-way copyToPeer: later commands of the job wait
# until the bytes of `transfer` have arrived and are written at dst (which
# must be the dst and size the sender names), or fail after timeoutMs.
struct AwaitPeer {
  transfer @0 :UInt64;
  dst @1 :UInt64;
  size @2 :UInt64;
  timeoutMs @3 :UInt32;
  senderEndpoints @4 :List(Text); # the sending worker's: a lost link to it fails the wait early
}

# Sent by the worker running a one-way copyToPeer, on its own connection as
# the same job; the bytes are the frame after the message.
struct PeerBytes {
  transfer @0 :UInt64;
  device @1 :UInt32;              # the receiving device, index among the job's on this worker
  dst @2 :UInt64;
  union {
    attached @3 :UInt64;          # this many bytes in the next frame
    failed @4 :Text;              # the sender could not read them: why
    shm @5 :Range;                # same host: (stream position, size) in the ring of the
                                  # segment the sender named in its hello
  }
}

struct Range {
  va @0 :UInt64;
  size @1 :UInt64;
}

struct Write {
  va @0 :UInt64;
  union {
    inline @1 :Data;              # tcp, small: the bytes travel in the message
    shm @2 :Range;                # ipc: (offset, size) in the client's segment
    attached @3 :UInt64;          # tcp, large: this many bytes in the frame after the message
  }
}

struct Copy {
  dst @0 :UInt64;
  src @1 :UInt64;
  size @2 :UInt64;
}

struct Fill {
  va @0 :UInt64;
  count @1 :UInt64;
  value @2 :UInt32;
  elemSize @3 :UInt8;
}

struct ModuleUpload {
  hash @0 :UInt64;
  fatbin @1 :Data;
  ptx @2 :Text;
}

struct ModuleLoad {
  hash @0 :UInt64;                # an uploaded module
  handle @1 :UInt64;              # the client's name for this load
  symbols @2 :List(Symbol);
}

struct Symbol {
  name @0 :Text;
  va @1 :UInt64;
  size @2 :UInt64;
}

struct Launch {
  module @0 :UInt64;              # ModuleLoad.handle
  kernel @1 :Text;
  grid @2 :List(UInt32);          # 3 entries
  block @3 :List(UInt32);         # 3 entries
  dynamicShared @4 :UInt32;
  params @5 :Data;
  blockBegin @6 :UInt64;          # run blocks [blockBegin, blockEnd) only; blockEnd 0: all
  blockEnd @7 :UInt64;
  quiet @8 :Bool;                 # drop the kernel's printf output (a replica's)
}

struct Gemm {
  transA @0 :Bool;
  transB @1 :Bool;
  conjA @2 :Bool;
  conjB @3 :Bool;
  m @4 :Int64;
  n @5 :Int64;
  k @6 :Int64;
  a @7 :UInt64;
  b @8 :UInt64;
  c @9 :UInt64;
  d @10 :UInt64;
  lda @11 :Int64;
  ldb @12 :Int64;
  ldc @13 :Int64;
  ldd @14 :Int64;
  batch @15 :Int64;
  strideA @16 :Int64;
  strideB @17 :Int64;
  strideC @18 :Int64;
  strideD @19 :Int64;
  pointerArrays @20 :Bool;
  aType @21 :UInt8;
  bType @22 :UInt8;
  cType @23 :UInt8;
  dType @24 :UInt8;
  computeType @25 :UInt8;
  allowTf32 @26 :Bool;
  scaleType @27 :UInt8;
  alpha @28 :List(Float64);       # 2 entries
  beta @29 :List(Float64);        # 2 entries
  alphaPtr @30 :UInt64;
  betaPtr @31 :UInt64;
  epilogue @32 :UInt8;
  bias @33 :UInt64;
  biasType @34 :UInt8;
  aux @35 :UInt64;
  ldAux @36 :Int64;
  auxType @37 :UInt8;
  strideBias @38 :Int64;
  strideAux @39 :Int64;
}

struct Blas {
  fn @0 :UInt8;                   # modnn_blas_fn
  type @1 :UInt8;
  m @2 :Int64;
  n @3 :Int64;
  k @4 :Int64;
  x @5 :UInt64;
  y @6 :UInt64;
  incx @7 :Int64;
  incy @8 :Int64;
  a @9 :UInt64;
  b @10 :UInt64;
  c @11 :UInt64;
  lda @12 :Int64;
  ldb @13 :Int64;
  ldc @14 :Int64;
  transA @15 :Bool;
  transB @16 :Bool;
  conjA @17 :Bool;
  conjB @18 :Bool;
  right @19 :Bool;
  upper @20 :Bool;
  unitDiag @21 :Bool;
  alpha @22 :List(Float64);       # 2 entries
  beta @23 :List(Float64);        # 2 entries
  alphaPtr @24 :UInt64;
  betaPtr @25 :UInt64;
  result @26 :UInt64;
  resultType @27 :UInt8;
}

struct Request {
  id @0 :UInt64;
  device @1 :UInt32;
  union {
    read @2 :Range;               # reply: data (tcp) or shmData (ipc, bytes in the client's segment)
    sync @3 :Void;                # reply: done, with the first error since the last sync
    hasModule @4 :UInt64;         # reply: flag
    supportsKernel @5 :KernelQuery;  # reply: flag
    supportsGemm @6 :Gemm;        # reply: flag
    props @7 :Void;               # reply: props
    supportsBlas @8 :Blas;        # reply: flag
    reserveRange @9 :Range;       # va = hint (0: anywhere), size; reply: reserved
    queryEvent @10 :EventQuery;   # reply: done (the recorded clock) or flag false (not yet)
  }
}

struct EventQuery {
  event @0 :UInt64;
  wait @1 :Bool;                  # answer once the record has run; otherwise at once
}

struct KernelQuery {
  module @0 :UInt64;
  kernel @1 :Text;
}

struct WorkerMessage {
  id @0 :UInt64;                  # the request answered; 0 for unsolicited
  union {
    helloOk @1 :HelloOk;
    error @2 :Error;              # the request failed, or an earlier command did
    data @3 :Data;                # read reply; empty with `attached` below

    shmData @4 :Range;
    done @5 :UInt64;              # sync: the worker's clock in ns when everything before it had run
    flag @6 :Bool;
    props @7 :DeviceProps;
    attached @8 :UInt64;          # read reply: the bytes are the frame after the message
    reserved @9 :UInt64;          # reserveRange reply: the base of the job's device address
                                  # range on this worker's devices; 0 = any address works here
  }
}

struct HelloOk {
  devices @0 :List(DeviceProps);
}

struct Error {
  code @0 :UInt32;                # modnn_status
  message @1 :Text;
}

struct DeviceProps {
  name @0 :Text;
  kind @1 :Text;
  uuid @2 :Data;                  # 16 bytes
  totalMemory @3 :UInt64;
  multiprocessorCount @4 :Int32;
  ccMajor @5 :Int32;
  ccMinor @6 :Int32;
  maxThreadsPerBlock @7 :Int32;
  maxThreadsPerMultiprocessor @8 :Int32;
  maxBlocksPerMultiprocessor @9 :Int32;
  regsPerMultiprocessor @10 :Int32;
  sharedMemoryPerBlock @11 :UInt64;
  sharedMemoryPerBlockOptin @12 :UInt64;
  sharedMemoryPerMultiprocessor @13 :UInt64;
  clockKhz @14 :Int32;
  memoryClockKhz @15 :Int32;
  memoryBusWidth @16 :Int32;
  l2CacheBytes @17 :UInt64;
  peakFlopsFp32 @18 :Float64;
  memoryBandwidth @19 :Float64;
  integrated @20 :Bool;
  blockRanges @21 :Bool;          # launches may run a range of the grid's blocks
}
