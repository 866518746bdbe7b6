// Ops split across the members of a device group: GEMMs by output columns
// (strided batched ones by batch entries) or by K with the partial sums
// reduce-scattered (group_collectives.cpp), AXPY/SCAL/SWAP by ranges, kernels by block ranges where their PTX shows
// what each block writes (kernel_footprint.h); and the cost models that
// decide when a split is worth it.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "interpose/core/group_state.h"
#include "interpose/core/log.h"
#include "interpose/core/op_ranges.h"

namespace moai::group_impl {

struct Slice {
  int64_t j0, j1;
};

// Column slices of a batched GEMM are not contiguous per device (it splits
// by batch instead), and a bias gradient over D's rows would need a
// reduction: those do not split by columns.
bool gemmColumnSplittable(const modnn_gemm& g) {
  return !g.pointer_arrays && g.batch == 1 && g.epilogue != MODNN_EPILOGUE_DGELU_BGRAD;
}

modnn_gemm sliceOf(const modnn_gemm& g, Slice s) {
  modnn_gemm p = g;
  p.n = s.j1 - s.j0;
  auto at = [](uint64_t base, int64_t elems, modnn_dtype t) {
    return base ? base + uint64_t(elems) * modnn_dtype_size(t) : 0;
  };
  p.b = at(g.b, g.trans_b ? s.j0 : s.j0 * g.ldb, g.b_type);
  p.c = at(g.c, s.j0 * g.ldc, g.c_type);
  p.d = at(g.d, s.j0 * g.ldd, g.d_type);
  if (modnn_epilogue_uses_aux(g.epilogue)) p.aux = at(g.aux, s.j0 * g.ld_aux, g.aux_type);
  if (g.epilogue == MODNN_EPILOGUE_BGRADB) p.bias = at(g.bias, s.j0, g.bias_type);
  return p;
}

// What a share writes, as contiguous ranges: its columns of D (with the rows
// between m and ld inside the span, which the member pulls first: its
// touches include them), of the GELU auxiliary output, and its bias entries.
std::vector<std::pair<uint64_t, uint64_t>> writtenBy(const modnn_gemm& g, Slice s) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  int64_t cols = s.j1 - s.j0;
  auto span = [&](uint64_t base, int64_t ld, modnn_dtype t) {
    size_t es = modnn_dtype_size(t);
    out.emplace_back(base + uint64_t(s.j0 * ld) * es, modnn_matrix_bytes(g.m, cols, ld, es));
  };
  span(g.d, g.ldd, g.d_type);
  if (g.epilogue == MODNN_EPILOGUE_GELU_AUX || g.epilogue == MODNN_EPILOGUE_GELU_AUX_BIAS)
    span(g.aux, g.ld_aux, g.aux_type);
  if (g.epilogue == MODNN_EPILOGUE_BGRADB) {
    size_t es = modnn_dtype_size(g.bias_type);
    out.emplace_back(g.bias + uint64_t(s.j0) * es, uint64_t(cols) * es);
  }
  return out;
}

const char* splitPolicy() {
  static const char* policy = std::getenv("MOAI_SPLIT");
  return policy ? policy : "";
}

// MOAI_SPLIT=always splits every op that can be; =k too, GEMMs by K where they can be.
bool forcedSplit() { return std::strcmp(splitPolicy(), "always") == 0 || std::strcmp(splitPolicy(), "k") == 0; }

// The ways (1..most) that minimise an op of `whole` seconds on one device
// split evenly, plus the all-gather of the `bytes` it writes in `copies`
// pieces (each device sends its share to every other one, all at once).
int splitWays(const Group* g, double whole, double bytes, double copies, int most) {
  if (most < 2 || std::strcmp(splitPolicy(), "never") == 0) return 1;
  if (forcedSplit()) return most;
  const GroupCosts& c = g->costs;
  double bandwidth = c.link_bandwidth > 0 ? c.link_bandwidth : g->props.memory_bandwidth;
  if (whole <= 0 || bandwidth <= 0) return 1;
  int best = 1;
  double best_t = whole;
  for (int ways = 2; ways <= most; ++ways) {
    double gather = (bytes / bandwidth + c.link_latency * copies) / ways * (ways - 1);
    double t = whole / ways + gather + c.op_overhead;
    if (t < best_t) best = ways, best_t = t;
  }
  return best;
}

// What a GEMM or BLAS op touches (op_ranges.h); nullopt when that is not
// known here (the matrices of a pointer-array GEMM).
std::optional<Ranges> touchedBy(const modnn_op& op) {
  if (op.kind == MODNN_OP_GEMM && op.u.gemm.pointer_arrays) return std::nullopt;
  if (op.kind != MODNN_OP_GEMM && op.kind != MODNN_OP_BLAS) return std::nullopt;
  Ranges r;
  for (const DeviceRange& d : opRanges(op)) r.emplace_back(d.va, d.bytes);
  return r;
}

// An op whose shares are themselves ops, one per member.
modnn_status runOpShares(Group* g, std::vector<Share> shares, const std::vector<modnn_op>& parts) {
  for (size_t i = 0; i < parts.size(); ++i) shares[i].touches = touchedBy(parts[i]).value_or(Ranges{});
  return runShares(g, shares, [&](int i, const modnn_device& d) { return d.iface->run_op(d.ctx, &parts[size_t(i)]); });
}

modnn_op opOf(const modnn_gemm& g) {
  modnn_op op{};
  op.struct_size = sizeof op;
  op.kind = MODNN_OP_GEMM;
  op.u.gemm = g;
  return op;
}

// A strided batched GEMM whose batch entries write apart from each other
// splits by batch: each member computes whole entries. Epilogues that reduce
// into a bias run whole.
bool gemmBatchSplittable(const modnn_gemm& g) {
  if (g.pointer_arrays || g.batch < 2 || g.m < 1 || g.n < 1) return false;
  if (g.epilogue == MODNN_EPILOGUE_BGRADA || g.epilogue == MODNN_EPILOGUE_BGRADB ||
      g.epilogue == MODNN_EPILOGUE_DGELU_BGRAD)
    return false;
  if (g.stride_a < 0 || g.stride_b < 0 || g.stride_c < 0 || g.stride_bias < 0 || g.stride_aux < 0) return false;
  bool aux_out = g.epilogue == MODNN_EPILOGUE_GELU_AUX || g.epilogue == MODNN_EPILOGUE_GELU_AUX_BIAS;
  return g.stride_d >= (g.n - 1) * g.ldd + g.m && (!aux_out || g.stride_aux >= (g.n - 1) * g.ld_aux + g.m);
}

// Batch entries [b0, b1), and what they write.
modnn_gemm batchSliceOf(const modnn_gemm& g, int64_t b0, int64_t b1, Ranges* written) {
  modnn_gemm p = g;
  p.batch = b1 - b0;
  auto at = [&](uint64_t base, int64_t stride, modnn_dtype t) {
    return base ? base + uint64_t(b0 * stride) * modnn_dtype_size(t) : 0;
  };
  p.a = at(g.a, g.stride_a, g.a_type);
  p.b = at(g.b, g.stride_b, g.b_type);
  p.c = at(g.c, g.stride_c, g.c_type);
  p.d = at(g.d, g.stride_d, g.d_type);
  if (modnn_epilogue_uses_aux(g.epilogue)) p.aux = at(g.aux, g.stride_aux, g.aux_type);
  if (modnn_epilogue_uses_bias(g.epilogue)) p.bias = at(g.bias, g.stride_bias, g.bias_type);
  auto span = [&](uint64_t base, int64_t stride, int64_t ld, modnn_dtype t) {
    size_t es = modnn_dtype_size(t);
    written->emplace_back(base, uint64_t((p.batch - 1) * stride) * es + modnn_matrix_bytes(g.m, g.n, ld, es));
  };
  span(p.d, g.stride_d, g.ldd, g.d_type);
  if (g.epilogue == MODNN_EPILOGUE_GELU_AUX || g.epilogue == MODNN_EPILOGUE_GELU_AUX_BIAS)
    span(p.aux, g.stride_aux, g.ld_aux, g.aux_type);
  return p;
}

// Ways to split a GEMM (by columns or batch entries, at most `most`): the
// roofline of the product on one member against a share of it plus the
// all-gather of its output.
int gemmSplitWays(const Group* g, const modnn_gemm& gm, int most) {
  double flops = 2.0 * double(gm.m) * double(gm.n) * double(gm.k) * double(std::max<int64_t>(gm.batch, 1));
  if (gm.a_type == MODNN_C32 || gm.a_type == MODNN_C64) flops *= 4;
  double peak = g->props.peak_flops_fp32 > 0 ? g->props.peak_flops_fp32 : 1e10;
  double out_bytes = double(gm.m) * double(gm.n) * double(std::max<int64_t>(gm.batch, 1)) * double(modnn_dtype_size(gm.d_type));
  return splitWays(g, flops / peak, out_bytes, 1, most);
}

// By output columns, or for a batched GEMM by batch entries.
modnn_status runSplitGemm(Group* g, const modnn_gemm& gemm, int ways) {
  std::vector<modnn_op> parts;
  std::vector<Share> shares(static_cast<size_t>(ways));
  for (int i = 0; i < ways; ++i) {
    Share& share = shares[size_t(i)];
    if (gemm.batch > 1) {
      parts.push_back(opOf(batchSliceOf(gemm, gemm.batch * i / ways, gemm.batch * (i + 1) / ways, &share.writes)));
    } else {
      Slice s{gemm.n * i / ways, gemm.n * (i + 1) / ways};
      parts.push_back(opOf(sliceOf(gemm, s)));
      share.writes = writtenBy(gemm, s);
    }
  }
  // Each member computes its columns, which stay there until a consumer pulls them.
  return runOpShares(g, std::move(shares), parts);
}

// ---- GEMMs split by K ------------------------------------------------------
//
// Each member multiplies a slice of the inner dimension, leaving a full-size
// partial sum in its own copy of D; a ring reduce-scatter then leaves member
// c the sum of D's c-th column chunk, the placement a column split leaves.
// It moves (ways - 1) / ways of D per member instead of the operands a column
// split needs: the better choice when A and B are sharded along K already
// (a weight gradient over a batch the members hold parts of) and D is small.

bool gemmKSplittable(Group* g, const modnn_gemm& gm) {
  bool overlaps = false;
  uint64_t d_end = gm.d + modnn_matrix_bytes(gm.m, gm.n, gm.ldd, modnn_dtype_size(gm.d_type));
  for (const DeviceRange& r : opRanges(opOf(gm)))
    if (r.va != gm.d && r.va != gm.c) overlaps = overlaps || (r.va < d_end && gm.d < r.va + r.bytes);
  return !gm.pointer_arrays && gm.batch == 1 && gm.epilogue == MODNN_EPILOGUE_DEFAULT && gm.k >= 2 && gm.m > 0 &&
         gm.n > 0 && !overlaps && canReduce(g, gm.d_type);
}

// Inner indices [k0, k1); only the first share adds beta C.
modnn_gemm kSliceOf(const modnn_gemm& g, int64_t k0, int64_t k1, bool first) {
  modnn_gemm p = g;
  p.k = k1 - k0;
  p.a = g.a + uint64_t(g.trans_a ? k0 : k0 * g.lda) * modnn_dtype_size(g.a_type);
  p.b = g.b + uint64_t(g.trans_b ? k0 * g.ldb : k0) * modnn_dtype_size(g.b_type);
  if (!first) {
    p.beta[0] = p.beta[1] = 0;
    p.beta_ptr = 0;
    p.c = g.d, p.ldc = g.ldd, p.c_type = g.d_type;
  }
  return p;
}

// Has each member room for its slices of A and B and a partial sum of all of D?
bool kSplitFits(Group* g, const modnn_gemm& gemm, int ways) {
  for (int i = 0; i < ways; ++i) {
    Ranges need{{gemm.d, modnn_matrix_bytes(gemm.m, gemm.n, gemm.ldd, modnn_dtype_size(gemm.d_type))}};
    for (const DeviceRange& r : opRanges(opOf(kSliceOf(gemm, gemm.k * i / ways, gemm.k * (i + 1) / ways, i == 0))))
      need.emplace_back(r.va, r.bytes);
    if (!fitsOn(g, i, need)) return false;
  }
  return true;
}

modnn_status runSplitGemmK(Group* g, const modnn_gemm& gemm, int ways) {
  const Matrix d{gemm.d, gemm.m, gemm.n, gemm.ldd, gemm.d_type};
  const size_t es = modnn_dtype_size(gemm.d_type);
  const bool reads_d = gemm.c == gemm.d && (gemm.beta_ptr || gemm.beta[0] != 0 || gemm.beta[1] != 0);
  std::vector<modnn_op> parts;
  std::vector<Share> shares(static_cast<size_t>(ways));
  for (int i = 0; i < ways; ++i) {
    parts.push_back(opOf(kSliceOf(gemm, gemm.k * i / ways, gemm.k * (i + 1) / ways, i == 0)));
    // What the share reads: D only where it is also C, and the rows between
    // m and ld in the member's own chunk, which stay as they were there.
    Share& share = shares[size_t(i)];
    for (const DeviceRange& r : opRanges(parts.back()))
      if (r.va != gemm.d || (i == 0 && reads_d)) share.touches.emplace_back(r.va, r.bytes);
    auto [j0, j1] = columnsOf(d, i, ways);
    share.writes.emplace_back(gemm.d + uint64_t(j0 * gemm.ldd) * es, modnn_matrix_bytes(gemm.m, j1 - j0, gemm.ldd, es));
    if (gemm.ldd > gemm.m) share.touches.push_back(share.writes.back());
    share.holds.emplace_back(gemm.d, modnn_matrix_bytes(gemm.m, gemm.n, gemm.ldd, es));  // its partial sum
  }
  return runShares(
      g, shares, [&](int i, const modnn_device& dev) { return dev.iface->run_op(dev.ctx, &parts[size_t(i)]); },
      [&] { return reduceScatterColumns(g, ways, d); });
}

// ---- kernels split by block ranges ----------------------------------------

// What the launch writes, from the module's PTX; null when the module has
// none that parses.
std::shared_ptr<const KernelFootprint> footprintOf(Group* g, GroupModule* m, const modnn_kernel_launch& l) {
  std::lock_guard<std::mutex> lock(m->analysis_mu);
  if (!m->parsed) {
    m->parsed = true;
    std::string error;
    auto ast = std::make_unique<modnn::ptx::Module>();
    if (!m->ptx.empty() && modnn::ptx::parseModule(m->ptx, *ast, error)) m->ast = std::move(ast);
  }
  if (!m->ast) return nullptr;
  std::string key(l.kernel_name);
  key.push_back('\0');
  key.append(reinterpret_cast<const char*>(l.grid), sizeof l.grid);
  key.append(reinterpret_cast<const char*>(l.block), sizeof l.block);
  key.append(static_cast<const char*>(l.params), l.param_bytes);
  if (auto it = m->footprints.find(key); it != m->footprints.end()) return it->second;
  LaunchShape shape;
  shape.kernel = l.kernel_name;
  std::copy(l.grid, l.grid + 3, shape.grid);
  std::copy(l.block, l.block + 3, shape.block);
  shape.params = static_cast<const uint8_t*>(l.params);
  shape.param_bytes = l.param_bytes;
  shape.allocation_end = [g](uint64_t va) -> uint64_t {
    uint64_t off = 0;
    GroupBuffer* b = findBuffer(g, va, 1, &off);
    return b ? b->va + b->size : 0;
  };
  auto f = std::make_shared<const KernelFootprint>(analyzeLaunch(*m->ast, shape));
  if (!f->splittable) log().debug("kernel {} runs whole on every device: {}", l.kernel_name, f->why);
  if (m->footprints.size() >= 4096) m->footprints.clear();  // a program whose pointers never repeat
  m->footprints.emplace(std::move(key), f);
  return f;
}

// Ways to split a launch of `f`: the kernel at the measured element rate on
// one device against a share of it plus the all-gather of what it writes.
int kernelSplitWays(const Group* g, const KernelFootprint& f, int n) {
  if (g->costs.kernel_rate <= 0 && !forcedSplit()) return 1;
  uint64_t bytes = 0;
  size_t copies = 0;
  for (auto [va, size] : rangesWritten(f, 0, f.blocks)) bytes += size, ++copies;
  // Elements: a grid-stride kernel walks more of them than it has threads.
  double elements = std::max(double(f.threads), double(bytes) / 4);
  double whole = g->costs.kernel_rate > 0 ? elements / g->costs.kernel_rate : 0;
  return splitWays(g, whole, double(bytes), double(copies), int(std::min<uint64_t>(uint64_t(n), f.blocks)));
}

// What the group could split of this launch; null when nothing.
std::shared_ptr<const KernelFootprint> splittableFootprint(Group* g, const modnn_kernel_launch& l) {
  bool whole_launch = !MODNN_STRUCT_HAS(&l, modnn_kernel_launch, block_end) || l.block_end == 0;
  if (g->devs.size() < 2 || !g->block_ranges || !whole_launch || !l.module) return nullptr;
  auto f = footprintOf(g, reinterpret_cast<GroupModule*>(l.module), l);
  return f && f->splittable ? f : nullptr;
}

// `ways` 0: the group's cost model decides.
modnn_status launchWays(Group* g, const modnn_kernel_launch& l, int ways,
                        const std::shared_ptr<const KernelFootprint>* analysed, int* out_ways) {
  std::shared_lock<std::shared_mutex> members(g->members);
  std::lock_guard<std::mutex> exec(g->exec_mu);
  auto* m = reinterpret_cast<GroupModule*>(l.module);
  int n = int(g->devs.size());
  std::shared_ptr<const KernelFootprint> f;
  if (analysed)
    f = *analysed;
  else if (n > 1)
    f = splittableFootprint(g, l);
  if (!f || ways == 1 || std::strcmp(splitPolicy(), "never") == 0)
    ways = 1;
  else if (ways > 1 && !forcedSplit())
    ways = int(std::min<uint64_t>({uint64_t(ways), uint64_t(n), f->blocks}));
  else
    ways = kernelSplitWays(g, *f, n);
  if (f && ways == 1 && f->reads_known && f->blocks > 1 && anySharded(g)) {
    // Memory is a hard limit: a launch that member 0 has no room for whole is split.
    Ranges touched = rangesRead(*f, 0, f->blocks), written = rangesWritten(*f, 0, f->blocks);
    touched.insert(touched.end(), written.begin(), written.end());
    if (!fitsOn(g, 0, touched)) ways = int(std::min<uint64_t>(uint64_t(n), f->blocks));
  }
  if (out_ways) *out_ways = ways;
  auto mine = [&](int i) {
    modnn_kernel_launch k{};
    std::memcpy(&k, &l, std::min(sizeof k, l.struct_size));
    k.struct_size = sizeof k;
    k.module = m->parts[size_t(i)];
    return k;
  };
  if (ways == 1) {
    std::optional<Ranges> touched;
    if (f && f->reads_known) {
      touched = rangesRead(*f, 0, f->blocks);
      Ranges written = rangesWritten(*f, 0, f->blocks);
      touched->insert(touched->end(), written.begin(), written.end());
    }
    return runEverywhere(g, touched, [&](int i, const modnn_device& d) {
      modnn_kernel_launch k = mine(i);
      k.quiet = i > 0;  // a replica: member 0 prints
      return d.iface->launch_kernel(d.ctx, &k);
    });
  }
  // Block ranges: each member gets what its blocks read, runs them, and
  // keeps what they wrote until a consumer pulls it.
  if (!f->reads_known)
    if (modnn_status st = pullAll(g); st != MODNN_OK) return st;
  std::vector<Share> shares;
  std::vector<std::pair<uint64_t, uint64_t>> blocks;
  for (int i = 0; i < ways; ++i) {
    uint64_t b0 = f->blocks * uint64_t(i) / uint64_t(ways), b1 = f->blocks * uint64_t(i + 1) / uint64_t(ways);
    blocks.emplace_back(b0, b1);
    Share s;
    s.writes = rangesWritten(*f, b0, b1);
    s.touches = rangesRead(*f, b0, b1);
    s.touches.insert(s.touches.end(), s.writes.begin(), s.writes.end());
    shares.push_back(std::move(s));
  }
  return runShares(g, shares, [&](int i, const modnn_device& d) {
    modnn_kernel_launch k = mine(i);
    k.block_begin = blocks[size_t(i)].first * f->unit;  // units are rows of blocks in a 2-D grid
    k.block_end = blocks[size_t(i)].second * f->unit;
    return d.iface->launch_kernel(d.ctx, &k);
  });
}

bool membersRunBlockRanges(const std::vector<modnn_device>& devs) {
  for (auto& d : devs) {
    modnn_device_props p{};
    p.struct_size = sizeof p;
    d.iface->get_props(d.ctx, &p);
    if (!MODNN_STRUCT_HAS(&p, modnn_device_props, block_ranges) || !p.block_ranges) return false;
  }
  return !devs.empty();
}

// ---- AXPY, SCAL, SWAP split by ranges -------------------------------------

bool blasSplittable(const modnn_blas& b) {
  bool element_wise = b.fn == MODNN_BLAS_AXPY || b.fn == MODNN_BLAS_SCAL || b.fn == MODNN_BLAS_SWAP;
  return element_wise && b.n >= 2 && b.incx == 1 && (b.fn == MODNN_BLAS_SCAL || b.incy == 1);
}

// Elements [i0, i1) of the vectors, and what that share writes.
modnn_blas blasSlice(const modnn_blas& b, int64_t i0, int64_t i1, std::vector<std::pair<uint64_t, uint64_t>>* written) {
  modnn_blas p = b;
  uint64_t es = modnn_dtype_size(b.type);
  p.n = i1 - i0;
  p.x = b.x + uint64_t(i0) * es;
  if (b.y) p.y = b.y + uint64_t(i0) * es;
  uint64_t bytes = uint64_t(i1 - i0) * es;
  if (b.fn != MODNN_BLAS_AXPY) written->emplace_back(p.x, bytes);
  if (b.fn != MODNN_BLAS_SCAL) written->emplace_back(p.y, bytes);
  return p;
}

int blasSplitWays(const Group* g, const modnn_blas& b, int n) {
  int most = int(std::min<int64_t>(n, b.n));
  double es = double(modnn_dtype_size(b.type));
  double vectors = b.fn == MODNN_BLAS_SCAL ? 1 : 2;
  double traffic = double(b.n) * es * vectors * 2;  // read and write
  double bandwidth = g->props.memory_bandwidth > 0 ? g->props.memory_bandwidth : 1e10;
  return splitWays(g, traffic / bandwidth, double(b.n) * es * (vectors == 1 ? 1 : b.fn == MODNN_BLAS_SWAP ? 2 : 1),
                   vectors, most);
}

modnn_status runSplitBlas(Group* g, const modnn_blas& b, int ways) {
  std::vector<modnn_op> parts;
  std::vector<Share> shares(static_cast<size_t>(ways));
  for (int i = 0; i < ways; ++i) {
    modnn_op op{};
    op.struct_size = sizeof op;
    op.kind = MODNN_OP_BLAS;
    op.u.blas = blasSlice(b, b.n * i / ways, b.n * (i + 1) / ways, &shares[size_t(i)].writes);
    parts.push_back(op);
  }
  return runOpShares(g, std::move(shares), parts);
}

// Has member 0 room for all `op` touches (run whole on a group whose memory
// is sharded, it runs there alone)?
bool fitsWhole(Group* g, const modnn_op& op) {
  if (!anySharded(g)) return true;
  std::optional<Ranges> touched = touchedBy(op);
  return !touched || fitsOn(g, 0, *touched);
}

// `split.ways` 0: the group's own cost model decides a GEMM's or vector op's split.
modnn_status runOpWays(Group* g, const modnn_op* op, GroupSplit split, GroupSplit* used) {
  std::shared_lock<std::shared_mutex> members(g->members);
  std::lock_guard<std::mutex> exec(g->exec_mu);
  int n = int(g->devs.size());
  int ways = split.ways;
  if (used) *used = GroupSplit{1, false};
  if (op->kind == MODNN_OP_GEMM && n > 1) {
    const modnn_gemm& gm = op->u.gemm;
    bool by_k = (split.by_k || (ways == 0 && std::strcmp(splitPolicy(), "k") == 0)) && gemmKSplittable(g, gm);
    int most = by_k                     ? int(std::min<int64_t>({n, gm.k, gm.n}))
               : gemmColumnSplittable(gm) ? int(std::min<int64_t>(n, gm.n))
               : gemmBatchSplittable(gm)  ? int(std::min<int64_t>(n, gm.batch))
                                          : 1;
    ways = ways > 0 ? std::min(ways, most) : gemmSplitWays(g, gm, most);
    by_k = by_k && (ways < 2 || kSplitFits(g, gm, ways));
    if (by_k && ways > 1 && reserveScratch(g, ways, Matrix{gm.d, gm.m, gm.n, gm.ldd, gm.d_type}) != MODNN_OK) {
      log().debug("a GEMM splits by columns instead of K: no memory for the reduction");
      by_k = false;
      most = gemmColumnSplittable(gm) ? int(std::min<int64_t>(n, gm.n)) : 1;
      ways = std::min(ways, most);
    }
    if (ways <= 1 && most > 1 && !fitsWhole(g, *op)) ways = most;
    if (used) *used = GroupSplit{std::max(ways, 1), by_k && ways > 1};
    if (ways > 1) return by_k ? runSplitGemmK(g, gm, ways) : runSplitGemm(g, gm, ways);
  } else if (op->kind == MODNN_OP_BLAS && blasSplittable(op->u.blas) && n > 1) {
    int most = int(std::min<int64_t>(n, op->u.blas.n));
    ways = ways > 0 ? std::min(ways, most) : blasSplitWays(g, op->u.blas, n);
    if (ways <= 1 && !fitsWhole(g, *op)) ways = most;
    if (used) *used = GroupSplit{std::max(ways, 1), false};
    if (ways > 1) return runSplitBlas(g, op->u.blas, ways);
  }
  return runEverywhere(g, touchedBy(*op), [&](int, const modnn_device& d) { return d.iface->run_op(d.ctx, op); });
}

}  // namespace moai::group_impl
