#include "interpose/core/device_calibration.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "interpose/core/device_group.h"

namespace moai {
namespace {

using Clock = std::chrono::steady_clock;

double now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

// The best of `reps` timed runs of fn (synchronised), after one untimed
// (first touch); negative on an error. The best, not the median: a run of a
// few milliseconds on a shared machine is often slowed by a neighbour for
// its whole length, and one such sample then mispredicted every step (seen:
// 42 against 117 GFLOP/s); the device's own speed is the fastest run.
double best(const modnn_device& d, int reps, const std::function<modnn_status()>& fn) {
  double t_best = 1e30;
  for (int i = 0; i <= reps; ++i) {
    double t0 = now();
    modnn_status st = fn();
    if (st == MODNN_OK) st = d.iface->synchronize(d.ctx);
    if (st != MODNN_OK) return -1;
    if (i > 0) t_best = std::min(t_best, now() - t0);
  }
  return t_best;
}

// A scratch buffer on the device (every member of a group).
struct Scratch {
  const modnn_device& d;
  VirtualAddressSpace& vas;
  uint64_t va = 0;
  modnn_buffer* buf = nullptr;
  Scratch(const modnn_device& dev, VirtualAddressSpace& space, uint64_t bytes) : d(dev), vas(space) {
    auto r = vas.reserve(bytes);
    if (!r) return;
    va = *r;
    if (d.iface->buffer_alloc(d.ctx, va, bytes, &buf) != MODNN_OK) buf = nullptr;
    if (buf) d.iface->buffer_fill(d.ctx, buf, 0, bytes / 4, 0, 4);
  }
  ~Scratch() {
    if (buf) d.iface->buffer_free(d.ctx, buf);
    if (va) vas.release(va);
  }
  bool ok() const { return buf != nullptr; }
};

modnn_op squareGemm(uint64_t a, uint64_t b, uint64_t c, int n) {
  modnn_op op{};
  op.struct_size = sizeof op;
  op.kind = MODNN_OP_GEMM;
  modnn_gemm& g = op.u.gemm;
  g.struct_size = sizeof g;
  g.m = g.n = g.k = n;
  g.a = a, g.b = b, g.c = c, g.d = c;
  g.lda = g.ldb = g.ldc = g.ldd = n;
  g.batch = 1;
  g.a_type = g.b_type = g.c_type = g.d_type = g.compute_type = g.scale_type = MODNN_F32;
  g.alpha[0] = 1;
  return op;
}

// A GEMM as the device group runs one it does not split: on every member at once.
modnn_status runWhole(const modnn_device& d, const modnn_op& op) {
  if (groupSize(d) > 0) {
    GroupSplit used;
    return runOnGroup(d, op, GroupSplit{1, false}, &used);
  }
  return d.iface->run_op(d.ctx, &op);
}

// The calibration kernel, as nvcc -ptx -arch=compute_75 emits
//   extern "C" __global__ void moai_calibrate_relu(float* y, unsigned long long n) {
//     for (unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; i < n;
//          i += (unsigned long long)gridDim.x * blockDim.x)
//       y[i] = y[i] > 0 ? y[i] : 0;
//   }
constexpr char kReluPtx[] = R"(.version 7.5
.target sm_75
.address_size 64
.visible .entry moai_calibrate_relu(
	.param .u64 moai_calibrate_relu_param_0,
	.param .u64 moai_calibrate_relu_param_1
)
{
	.reg .pred 	%p<3>;
	.reg .f32 	%f<3>;
	.reg .b32 	%r<5>;
	.reg .b64 	%rd<15>;
	ld.param.u64 	%rd7, [moai_calibrate_relu_param_0];
	ld.param.u64 	%rd8, [moai_calibrate_relu_param_1];
	mov.u32 	%r1, %ctaid.x;
	mov.u32 	%r2, %ntid.x;
	cvt.u64.u32 	%rd1, %r2;
	mul.wide.u32 	%rd9, %r1, %r2;
	mov.u32 	%r3, %tid.x;
	cvt.u64.u32 	%rd10, %r3;
	add.s64 	%rd14, %rd9, %rd10;
	setp.ge.u64 	%p1, %rd14, %rd8;
	@%p1 bra 	$L__BB0_3;
	mov.u32 	%r4, %nctaid.x;
	cvt.u64.u32 	%rd11, %r4;
	mul.lo.s64 	%rd3, %rd11, %rd1;
	cvta.to.global.u64 	%rd4, %rd7;
$L__BB0_2:
	shl.b64 	%rd12, %rd14, 2;
	add.s64 	%rd13, %rd4, %rd12;
	ld.global.f32 	%f1, [%rd13];
	max.f32 	%f2, %f1, 0f00000000;
	st.global.f32 	[%rd13], %f2;
	add.s64 	%rd14, %rd14, %rd3;
	setp.lt.u64 	%p2, %rd14, %rd8;
	@%p2 bra 	$L__BB0_2;
$L__BB0_3:
	ret;
}
)";

// Elements per second of the calibration kernel over `y` (n floats); 0 when
// the device cannot load or run it.
double kernelRate(const modnn_device& d, uint64_t y, uint64_t n) {
  if (!d.iface->module_load || !d.iface->launch_kernel) return 0;
  modnn_module_image image{};
  image.struct_size = sizeof image;
  image.data = kReluPtx;
  image.size = sizeof kReluPtx;
  image.content_hash = 0x6d6f6169636c6272ull;  // fixed: the text never changes
  image.ptx = kReluPtx;
  image.ptx_size = sizeof kReluPtx - 1;
  modnn_module* m = nullptr;
  if (d.iface->module_load(d.ctx, &image, &m) != MODNN_OK) return 0;
  double rate = 0;
  if (!d.iface->supports_kernel || d.iface->supports_kernel(d.ctx, m, "moai_calibrate_relu")) {
    uint64_t params[2] = {y, n};
    modnn_kernel_launch l{};
    l.struct_size = sizeof l;
    l.module = m;
    l.kernel_name = "moai_calibrate_relu";
    l.grid[0] = 64, l.grid[1] = l.grid[2] = 1;
    l.block[0] = 256, l.block[1] = l.block[2] = 1;
    l.params = params;
    l.param_bytes = sizeof params;
    l.block_begin = 0, l.block_end = 64;  // every block: a group runs it whole on each member, never split
    double t = best(d, 2, [&] { return d.iface->launch_kernel(d.ctx, &l); });
    if (t > 0) rate = double(n) / t;
  }
  if (d.iface->module_unload) d.iface->module_unload(d.ctx, m);
  return rate;
}

// alpha-beta through two sizes: beta from the difference, alpha the rest.
planner::Link fitLink(double small_bytes, double t_small, double big_bytes, double t_big) {
  planner::Link l;
  l.bandwidth = t_big > t_small ? (big_bytes - small_bytes) / (t_big - t_small) : big_bytes / std::max(t_big, 1e-9);
  l.latency = std::max(t_small - small_bytes / l.bandwidth, 1e-7);
  return l;
}

}  // namespace

Calibration calibrate(const modnn_device& d, const modnn_device_props& props, VirtualAddressSpace& vas) {
  Calibration c;
  double start = now();
  c.devices = std::max(groupSize(d), 1);
  auto fail = [&](const char* what) {
    if (c.error.empty()) c.error = what;
  };
  // 1. GEMM throughput, every member at once: a 512^3 GEMM (~5 ms at 50
  // GFLOP/s; its operands overflow a CPU core's L2 as a real layer's do).
  constexpr int kGemm = 512, kTiny = 8;
  const uint64_t mat = uint64_t(kGemm) * kGemm * 4;
  Scratch a(d, vas, mat), b(d, vas, mat), out(d, vas, mat);
  std::function<void()> gemm_again;
  {
    if (a.ok() && b.ok() && out.ok() && d.iface->run_op) {
      modnn_op big = squareGemm(a.va, b.va, out.va, kGemm), tiny = squareGemm(a.va, b.va, out.va, kTiny);
      double t = best(d, 3, [&] { return runWhole(d, big); });
      if (t > 0) c.gemm_flops = 2.0 * kGemm * kGemm * kGemm / t, c.gemm_size = kGemm;
      gemm_again = [&d, big, t_first = t, &c]() mutable {
        // Measured again at the end and the faster kept: a burst of other
        // load on the host during the first few milliseconds (a shared
        // machine) would otherwise set every prediction of the run.
        double t2 = best(d, 3, [&] { return runWhole(d, big); });
        if (t2 > 0 && (t_first <= 0 || t2 < t_first)) c.gemm_flops = 2.0 * kGemm * kGemm * kGemm / t2;
      };
      // Per op, and per synchronisation: a remote device pipelines ops and
      // pays its round trip once, where the program synchronises.
      constexpr int kBurst = 16;
      double t1 = best(d, 3, [&] { return runWhole(d, tiny); });
      double tn = best(d, 3, [&] {
        modnn_status st = MODNN_OK;
        for (int i = 0; i < kBurst && st == MODNN_OK; ++i) st = runWhole(d, tiny);
        return st;
      });
      if (t1 > 0 && tn > 0) {
        c.op_overhead = std::max((tn - t1) / (kBurst - 1), 1e-7);
        c.sync_latency = std::max(t1 - c.op_overhead, 0.0);
      }
      if (t <= 0 || t1 <= 0 || tn <= 0) fail("GEMM failed");
    } else {
      fail("no GEMM");
    }
  }
  // 2. Memory bandwidth: a 32 MiB device-to-device copy, past a CPU's last
  // level cache (a group copies on its members one after another).
  // A small device (or a small share of one) gets copies that fit a quarter of it.
  const uint64_t kCopy = std::clamp<uint64_t>(props.total_memory / 4 & ~uint64_t(4095), 4096, 32u << 20);
  {
    Scratch src(d, vas, kCopy), dst(d, vas, kCopy);
    if (!src.ok() || !dst.ok()) fail("no room for the copies");
    double t = src.ok() && dst.ok()
                   ? best(d, 2, [&] { return d.iface->buffer_copy(d.ctx, dst.buf, 0, src.buf, 0, kCopy); })
                   : -1;
    if (t > 0)
      c.memory_bandwidth = 2.0 * kCopy * c.devices / t;
    else
      fail("device copy failed");
    // 3. Host link: writes of 4 KiB and 16 MiB (to every member of a group, in turn).
    std::vector<uint8_t> host(std::min<uint64_t>(16u << 20, kCopy), 1);
    double ts = dst.ok() ? best(d, 5, [&] { return d.iface->buffer_write(d.ctx, dst.buf, 0, host.data(), 4096); }) : -1;
    double tb = dst.ok() ? best(d, 2, [&] { return d.iface->buffer_write(d.ctx, dst.buf, 0, host.data(), host.size()); })
                         : -1;
    if (ts > 0 && tb > 0)
      c.host_link = fitLink(4096, ts / c.devices, double(host.size()), tb / c.devices);
    else
      fail("host write failed");
    // 4. Kernels: 256 Ki elements (a few ms through an interpreter, microseconds on a GPU).
    if (src.ok()) c.kernel_rate = kernelRate(d, src.va, std::min<uint64_t>(256u << 10, kCopy / 4));
    // 5. The link between members 0 and 1.
    if (c.devices > 1 && src.ok()) {
      uint64_t big = host.size();
      double ls = best(d, 5, [&] { return copyBetweenMembers(d, 0, 1, src.va, 4096); });
      double lb = best(d, 2, [&] { return copyBetweenMembers(d, 0, 1, src.va, big); });
      if (ls > 0 && lb > 0)
        c.link = fitLink(4096, ls, double(big), lb);
      else
        fail("member copy failed");
    }
  }
  if (gemm_again) gemm_again();
  // Nominal numbers where a measurement failed.
  if (c.gemm_flops <= 0) c.gemm_flops = props.peak_flops_fp32 > 0 ? props.peak_flops_fp32 / c.devices : 1e10;
  if (c.memory_bandwidth <= 0) c.memory_bandwidth = props.memory_bandwidth > 0 ? props.memory_bandwidth : 1e10;
  if (c.host_link.bandwidth <= 0) c.host_link = {c.memory_bandwidth, 5e-6};
  if (c.devices > 1 && c.link.bandwidth <= 0) c.link = {c.memory_bandwidth, 20e-6};
  c.seconds = now() - start;
  return c;
}

planner::Cluster clusterFrom(const Calibration& c, const modnn_device_props& props) {
  planner::Cluster cl;
  cl.name = "measured";
  planner::DeviceKind k;
  k.name = props.kind[0] ? props.kind : "device";
  k.memory_bytes = double(props.total_memory);
  k.memory_bandwidth = c.memory_bandwidth;
  // Measured: f32. Other dtypes: f64 at half, the rest as f32 (a CPU
  // converts 16-bit inputs; a GPU's tensor cores would be faster: not measured).
  k.matmul_flops.fill(c.gemm_flops);
  k.matmul_flops[MODNN_F64] = k.matmul_flops[MODNN_C64] = c.gemm_flops / 2;
  k.vector_flops = c.gemm_flops / 4;  // not measured; element-wise ops are memory-bound here
  k.kernel_overhead = c.op_overhead;
  k.host_link = c.host_link;
  cl.kinds.push_back(k);
  cl.groups.push_back({0, c.devices, 1});
  cl.intra_node = c.devices > 1 ? c.link : c.host_link;
  cl.inter_node = cl.intra_node;
  return cl;
}

std::string describeCalibration(const Calibration& c) {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf,
                        "GEMM %.1f GFLOP/s (f32 %d^3, %d at once), memory %.2f GB/s, op %.0f us, sync %.0f us",
                        c.gemm_flops / 1e9, c.gemm_size, c.devices, c.memory_bandwidth / 1e9, c.op_overhead * 1e6,
                        c.sync_latency * 1e6);
  if (c.devices > 1)
    n += std::snprintf(buf + n, sizeof buf - n, "; link 0->1 alpha %.1f us, beta %.2f GB/s", c.link.latency * 1e6,
                       c.link.bandwidth / 1e9);
  if (c.kernel_rate > 0) n += std::snprintf(buf + n, sizeof buf - n, ", kernel %.1f M elements/s", c.kernel_rate / 1e6);
  n += std::snprintf(buf + n, sizeof buf - n, "; host link alpha %.1f us, beta %.2f GB/s; measured in %.0f ms",
                     c.host_link.latency * 1e6, c.host_link.bandwidth / 1e9, c.seconds * 1e3);
  std::string s = buf;
  if (!c.error.empty()) s += " (" + c.error + ": nominal numbers stand in)";
  return s;
}

}  // namespace moai
