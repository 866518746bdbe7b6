#include "interpose/core/graph_recorder.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace moai {
namespace {

using planner::Graph;
using planner::Op;
using planner::OpKind;

using Keep = std::vector<std::shared_ptr<Allocation>>;

// The allocation of `keep` holding address `va`, or null.
const Allocation* holder(const Keep& keep, uint64_t va) {
  for (const auto& a : keep)
    if (a && va >= a->base && va - a->base < a->size) return a.get();
  return nullptr;
}

// Where tensors come from: GraphRecorder::tensorAt, indexed.
using TensorAt = std::function<int(uint64_t, uint64_t, modnn_dtype, std::vector<int64_t>)>;

// A region seen without structure: elements of 4 bytes where they fit.
int flatTensor(const TensorAt& at, uint64_t alloc, uint64_t offset, uint64_t bytes) {
  if (bytes == 0) return -1;
  if (bytes % 4 == 0) return at(alloc, offset, MODNN_F32, {int64_t(bytes / 4)});
  return at(alloc, offset, MODNN_I8, {int64_t(bytes)});
}

// A device operand at `va` spanning `bytes`, flat; -1 when it is not device memory.
int flatOperand(const TensorAt& at, const Keep& keep, uint64_t va, uint64_t bytes) {
  const Allocation* a = va ? holder(keep, va) : nullptr;
  if (!a) return -1;
  uint64_t off = va - a->base;
  return flatTensor(at, a->base, off, std::min(bytes, a->size - off));
}

int shapedOperand(const TensorAt& at, const Keep& keep, uint64_t va, modnn_dtype t, std::vector<int64_t> shape) {
  const Allocation* a = va ? holder(keep, va) : nullptr;
  if (!a) return -1;
  return at(a->base, va - a->base, t, std::move(shape));
}

uint64_t matrixBytes(int64_t rows, int64_t cols, int64_t ld, modnn_dtype t) {
  return modnn_matrix_bytes(rows, cols, ld, modnn_dtype_size(t));
}

void push(std::vector<int>* v, int id) {
  if (id >= 0 && std::find(v->begin(), v->end(), id) == v->end()) v->push_back(id);
}

// Real work per element: complex arithmetic is four real products.
double flopScale(modnn_dtype t) { return t == MODNN_C32 || t == MODNN_C64 ? 4 : 1; }

const char* dtypeLetter(modnn_dtype t) {
  switch (t) {
    case MODNN_F32: return "s";
    case MODNN_F64: return "d";
    case MODNN_C32: return "c";
    case MODNN_C64: return "z";
    case MODNN_F16: return "h";
    case MODNN_BF16: return "bf";
    default: return "i";
  }
}

int addGemm(Graph& g, const TensorAt& at, const modnn_gemm& c, const Keep& keep) {
  Op op;
  op.name = std::string(dtypeLetter(c.a_type)) + "gemm";
  if (c.pointer_arrays || c.batch < 1) {
    // The operands' addresses sit in device memory: the op is opaque here.
    op.kind = OpKind::Opaque;
    op.name += " (pointer arrays)";
    op.flops = 2.0 * double(c.m) * double(c.n) * double(c.k) * double(std::max<int64_t>(c.batch, 1)) * flopScale(c.a_type);
    return g.addOp(std::move(op));
  }
  // Row-major twin: D^T[n,m] = op(B)^T op(A)^T.
  op.kind = OpKind::Gemm;
  op.gemm.m = c.n;
  op.gemm.n = c.m;
  op.gemm.k = c.k;
  op.gemm.batch = c.batch;
  op.gemm.trans_a = c.trans_b;
  op.gemm.trans_b = c.trans_a;
  auto batched = [&](int64_t stride, std::vector<int64_t> shape) {
    if (c.batch > 1 && stride != 0) shape.insert(shape.begin(), c.batch);
    return shape;
  };
  // Column-major X (rows x cols) is stored as row-major [cols, rows].
  std::vector<int64_t> a_shape = c.trans_b ? std::vector<int64_t>{c.k, c.n} : std::vector<int64_t>{c.n, c.k};
  std::vector<int64_t> b_shape = c.trans_a ? std::vector<int64_t>{c.m, c.k} : std::vector<int64_t>{c.k, c.m};
  int a = shapedOperand(at, keep, c.b, c.b_type, batched(c.stride_b, a_shape));
  int b = shapedOperand(at, keep, c.a, c.a_type, batched(c.stride_a, b_shape));
  int d = shapedOperand(at, keep, c.d, c.d_type, batched(c.stride_d, {c.n, c.m}));
  if (a < 0 || b < 0 || d < 0) {
    // An operand in page-locked host memory: not a device tensor.
    op.kind = OpKind::Opaque;
    op.flops = 2.0 * double(c.m) * double(c.n) * double(c.k) * double(c.batch) * flopScale(c.a_type);
    push(&op.reads, a), push(&op.reads, b), push(&op.writes, d);
    return g.addOp(std::move(op));
  }
  op.reads = {a, b};
  bool reads_c = c.c && (c.beta_ptr || c.beta[0] != 0 || c.beta[1] != 0);
  if (reads_c) {
    int ct = shapedOperand(at, keep, c.c, c.c_type, batched(c.stride_c, {c.n, c.m}));
    if (ct >= 0) op.reads.push_back(ct);
  }
  op.writes = {d};
  return g.addOp(std::move(op));
}

int addBlas(Graph& g, const TensorAt& at, const modnn_blas& b, const Keep& keep) {
  const size_t es = modnn_dtype_size(b.type);
  const double scale = flopScale(b.type);
  auto vec = [&](uint64_t va, int64_t inc) {
    uint64_t span = b.n <= 0 ? 0 : uint64_t((b.n - 1) * (inc < 0 ? -inc : inc) + 1) * es;
    return flatOperand(at, keep, va, span);
  };
  auto mat = [&](uint64_t va, int64_t rows, int64_t cols, int64_t ld) {
    return flatOperand(at, keep, va, matrixBytes(rows, cols, ld, b.type));
  };
  Op op;
  static const char* const kNames[] = {"", "axpy", "scal", "dot", "nrm2", "asum", "iamax", "iamin", "copy",
                                       "swap", "gemv", "ger", "geam", "dgmm", "trsm", "syrk"};
  op.name = std::string(dtypeLetter(b.type)) + (b.fn >= 1 && b.fn <= MODNN_BLAS_SYRK ? kNames[b.fn] : "blas");
  const bool contiguous = b.incx == 1 && (b.incy == 1 || b.y == 0);
  const double n = double(b.n);
  switch (b.fn) {
    case MODNN_BLAS_AXPY:
    case MODNN_BLAS_SCAL:
    case MODNN_BLAS_SWAP: {
      op.kind = contiguous ? OpKind::Elementwise : OpKind::Opaque;
      op.flops = (b.fn == MODNN_BLAS_AXPY ? 2 : b.fn == MODNN_BLAS_SCAL ? 1 : 0) * n * scale;
      int x = vec(b.x, b.incx);
      if (b.fn == MODNN_BLAS_SCAL) {
        push(&op.reads, x), push(&op.writes, x);
      } else {
        int y = vec(b.y, b.incy);
        push(&op.reads, x), push(&op.reads, y), push(&op.writes, y);
        if (b.fn == MODNN_BLAS_SWAP) push(&op.writes, x);
      }
      break;
    }
    case MODNN_BLAS_COPY:
      op.kind = contiguous ? OpKind::Copy : OpKind::Opaque;
      push(&op.reads, vec(b.x, b.incx)), push(&op.writes, vec(b.y, b.incy));
      break;
    case MODNN_BLAS_DOT:
    case MODNN_BLAS_NRM2:
    case MODNN_BLAS_ASUM:
    case MODNN_BLAS_IAMAX:
    case MODNN_BLAS_IAMIN: {
      op.flops = (b.fn == MODNN_BLAS_DOT || b.fn == MODNN_BLAS_NRM2 ? 2 : 1) * n * scale;
      push(&op.reads, vec(b.x, b.incx));
      if (b.fn == MODNN_BLAS_DOT) push(&op.reads, vec(b.y, b.incy));
      int r = flatOperand(at, keep, b.result, modnn_dtype_size(b.result_type));
      push(&op.writes, r);
      op.kind = contiguous && r >= 0 && !op.reads.empty() ? OpKind::Reduction : OpKind::Opaque;
      if (op.kind == OpKind::Reduction) op.reduce_dim = 0;
      break;
    }
    case MODNN_BLAS_GEMV: {
      op.kind = OpKind::Opaque;
      op.flops = 2.0 * double(b.m) * n * scale;
      int64_t xn = b.trans_a ? b.m : b.n, yn = b.trans_a ? b.n : b.m;
      push(&op.reads, mat(b.a, b.m, b.n, b.lda));
      push(&op.reads, flatOperand(at, keep, b.x, uint64_t(std::max<int64_t>(xn - 1, 0) * std::abs(b.incx) + 1) * es));
      int y = flatOperand(at, keep, b.y, uint64_t(std::max<int64_t>(yn - 1, 0) * std::abs(b.incy) + 1) * es);
      push(&op.reads, y), push(&op.writes, y);
      break;
    }
    default: {
      // GER, GEAM, DGMM, TRSM, SYRK: matrices a, b, c as far as they are set.
      op.kind = OpKind::Opaque;
      op.flops = 2.0 * double(b.m) * n * double(std::max<int64_t>(b.k, 1)) * scale;
      int64_t rows = b.fn == MODNN_BLAS_SYRK ? b.n : b.m;
      if (b.a) push(&op.reads, mat(b.a, b.trans_a ? b.n : rows, b.trans_a ? rows : std::max<int64_t>(b.k, b.n), b.lda));
      if (b.b) push(&op.reads, mat(b.b, b.m, b.n, b.ldb));
      if (b.x) push(&op.reads, vec(b.x, b.incx));
      if (b.y) push(&op.reads, vec(b.y, b.incy));
      uint64_t out = b.fn == MODNN_BLAS_TRSM ? b.b : b.fn == MODNN_BLAS_GER ? b.a : b.c;
      int64_t ld = b.fn == MODNN_BLAS_TRSM ? b.ldb : b.fn == MODNN_BLAS_GER ? b.lda : b.ldc;
      int w = mat(out, rows, b.n, ld);
      push(&op.reads, w), push(&op.writes, w);
      break;
    }
  }
  if (op.writes.empty() && op.reads.empty()) return -1;  // host operands only
  if (op.kind == OpKind::Copy && (op.reads.empty() || op.writes.empty() ||
                                  g.tensors[op.reads[0]].bytes() != g.tensors[op.writes[0]].bytes()))
    op.kind = OpKind::Opaque;
  if (op.kind == OpKind::Elementwise && op.writes.empty()) op.kind = OpKind::Opaque;
  return g.addOp(std::move(op));
}

}  // namespace

int GraphRecorder::add(const RecordedOp& op, const KernelFootprint* footprint) {
  if (auto* m = std::get_if<ModnnOp>(&op.body)) return addModnn(*m);
  if (auto* l = std::get_if<LaunchOp>(&op.body)) return addLaunch(*l, footprint);
  if (auto* c = std::get_if<CopyOp>(&op.body)) return addCopy(*c);
  if (auto* f = std::get_if<FillOp>(&op.body)) return addFill(*f);
  return -1;
}

planner::Graph GraphRecorder::take() {
  planner::Graph g = std::move(graph_);
  graph_ = planner::Graph{};
  regions_.clear();
  return g;
}

int GraphRecorder::tensorAt(uint64_t alloc, uint64_t offset, modnn_dtype dtype, std::vector<int64_t> shape) {
  // Graph::tensorAt's rule, indexed: the same bytes are the same tensor, and
  // the view with more structure names its shape.
  planner::Tensor fresh{alloc, offset, dtype, std::move(shape), {}};
  auto [it, added] = regions_.try_emplace({alloc, offset, fresh.bytes()}, int(graph_.tensors.size()));
  if (added) {
    graph_.tensors.push_back(std::move(fresh));
    return it->second;
  }
  planner::Tensor& t = graph_.tensors[size_t(it->second)];
  if (fresh.shape.size() > t.shape.size()) t.shape = std::move(fresh.shape), t.dtype = fresh.dtype;
  return it->second;
}

int GraphRecorder::flat(uint64_t alloc, uint64_t offset, uint64_t bytes) {
  return flatTensor([this](uint64_t a, uint64_t o, modnn_dtype t, std::vector<int64_t> s) { return tensorAt(a, o, t, std::move(s)); },
                    alloc, offset, bytes);
}

int GraphRecorder::addModnn(const ModnnOp& m) {
  TensorAt at = [this](uint64_t a, uint64_t o, modnn_dtype t, std::vector<int64_t> s) { return tensorAt(a, o, t, std::move(s)); };
  if (m.op.kind == MODNN_OP_GEMM) return addGemm(graph_, at, m.op.u.gemm, m.keep_alive);
  if (m.op.kind == MODNN_OP_BLAS) return addBlas(graph_, at, m.op.u.blas, m.keep_alive);
  Op op;
  op.kind = OpKind::Opaque;
  op.name = "modnn op " + std::to_string(int(m.op.kind));
  return graph_.addOp(std::move(op));
}

int GraphRecorder::addLaunch(const LaunchOp& l, const KernelFootprint* footprint) {
  Op op;
  op.kind = OpKind::Opaque;
  op.name = l.kernel;
  double threads = double(l.grid.x) * l.grid.y * l.grid.z * l.block.x * l.block.y * l.block.z;
  double elements = threads;
  // Pointer arguments are 8-byte aligned in the packed parameters; a value
  // that lands in one of the allocations the launch keeps alive is one.
  for (size_t off = 0; off + 8 <= l.params.size(); off += 8) {
    uint64_t v;
    std::memcpy(&v, l.params.data() + off, 8);
    const Allocation* a = holder(l.keep_alive, v);
    if (!a) continue;
    int t = flat(a->base, v - a->base, a->size - (v - a->base));
    push(&op.reads, t);
    if (!footprint || !footprint->splittable) push(&op.writes, t);
  }
  if (footprint && footprint->splittable) {
    double written = 0;
    for (const StoreStream& s : footprint->streams) {
      const Allocation* a = holder(l.keep_alive, s.base);
      uint64_t end = s.stride ? s.limit : std::min(s.limit, s.base + s.per_block * footprint->blocks);
      if (!a || end > a->base + a->size) {
        op.writes.clear();
        break;
      }
      push(&op.writes, flat(a->base, s.base - a->base, end - s.base));
      written += double(end - s.base);
    }
    if (!op.writes.empty()) {
      op.kind = OpKind::Elementwise;
      elements = std::max(elements, written / 4);  // a grid-stride loop walks more than its threads
    }
  }
  if (op.writes.empty())  // not element-wise after all: every pointer argument may be written
    for (int t : op.reads) push(&op.writes, t);
  // Elements it walks: its threads, or the largest region it is handed.
  for (int t : op.reads) elements = std::max(elements, double(graph_.tensors[size_t(t)].elements()));
  op.flops = elements * kernel_flops_per_element_;
  return graph_.addOp(std::move(op));
}

int GraphRecorder::addCopy(const CopyOp& c) {
  if (!c.dst.alloc && !c.src.alloc) return -1;
  Op op;
  op.kind = OpKind::Copy;
  op.name = c.dst.alloc && c.src.alloc ? "memcpy DtoD" : c.dst.alloc ? "memcpy HtoD" : "memcpy DtoH";
  bool dense = c.height <= 1 || (c.dpitch == c.width && c.spitch == c.width);
  uint64_t bytes = uint64_t(c.width) * std::max<size_t>(c.height, 1);
  auto side = [&](const Endpoint& e, size_t pitch) {
    uint64_t extent = dense ? bytes : uint64_t(pitch) * (c.height - 1) + c.width;
    return flat(e.alloc->base, e.offset, extent);
  };
  if (!dense) op.kind = OpKind::Opaque, op.name += " 2D";
  if (c.src.alloc) push(&op.reads, side(c.src, c.spitch));
  if (c.dst.alloc) push(&op.writes, side(c.dst, c.dpitch));
  return graph_.addOp(std::move(op));
}

int GraphRecorder::addFill(const FillOp& f) {
  if (!f.dst.alloc) return -1;
  Op op;
  op.kind = OpKind::Memset;
  op.name = "memset";
  uint64_t row = uint64_t(f.width) * f.elem_size;
  uint64_t extent = f.height <= 1 ? row : uint64_t(f.pitch) * (f.height - 1) + row;
  push(&op.writes, flat(f.dst.alloc->base, f.dst.offset, extent));
  return graph_.addOp(std::move(op));
}

}  // namespace moai
