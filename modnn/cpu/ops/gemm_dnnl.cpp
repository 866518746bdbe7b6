// oneDNN matmul for moDNN GEMMs. oneDNN is row-major, so the column-major
// product D = op(A) op(B) runs as D^T = op(B)^T op(A)^T: D^T is D's memory
// read row-major, and op(X)^T is X's memory with the strides swapped.
// Primitives come from oneDNN's own primitive cache.
#include "modnn/cpu/ops/gemm_dnnl.h"

#include <omp.h>

#include <atomic>
#include <dnnl.hpp>
#include <string>

namespace modnn::cpu {
namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

bool dnnlType(modnn_dtype t, dt* out) {
  switch (t) {
    case MODNN_F32: *out = dt::f32; return true;
    case MODNN_F16: *out = dt::f16; return true;
    case MODNN_BF16: *out = dt::bf16; return true;
    default: return false;
  }
}

// Row-major view of column-major `rows x cols` op(X)^T: `rows`/`cols` are
// op(X)^T's; the memory holds X (transposed or not) with leading dimension ld.
dnnl::memory::desc operand(int64_t batch, int64_t rows, int64_t cols, bool trans, int64_t ld, int64_t stride, dt t) {
  dims strides = trans ? dims{1, ld} : dims{ld, 1};
  if (batch == 1) return dnnl::memory::desc({rows, cols}, t, strides);
  return dnnl::memory::desc({batch, rows, cols}, t, {stride, strides[0], strides[1]});
}

// Problems oneDNN has no fast kernel for, by (types, transposes), so that a
// refusal is paid for once: a failed primitive creation costs far more
// than the conversion it saves on small GEMMs.
std::atomic<uint64_t> g_refused{0};

unsigned refusalBit(const HostGemm& g) {
  // F32, F16 and BF16 are 0, 2 and 3: 16 * 3 + 4 * 3 + 3 < 64.
  return unsigned(g.in_type) * 16 + unsigned(g.out_type) * 4 + unsigned(g.trans_a) * 2 + unsigned(g.trans_b);
}

const dnnl::engine& cpuEngine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

}  // namespace

bool dnnlGemm(const HostGemm& g, int threads) {
  dt in, out;
  if (!dnnlType(g.in_type, &in) || !dnnlType(g.out_type, &out)) return false;
  // A batch that broadcasts an operand (stride 0) is not a oneDNN layout.
  if (g.batch > 1 && (g.stride_a == 0 || g.stride_b == 0 || g.stride_out == 0)) return false;
  uint64_t bit = uint64_t(1) << refusalBit(g);
  if (g_refused.load(std::memory_order_relaxed) & bit) return false;
  auto refuse = [&] {
    g_refused.fetch_or(bit, std::memory_order_relaxed);
    return false;
  };
  omp_set_num_threads(threads);
  try {
    const dnnl::engine& eng = cpuEngine();
    // src = op(B)^T (n x k), weights = op(A)^T (k x m), dst = D^T (n x m).
    auto src = operand(g.batch, g.n, g.k, g.trans_b, g.ldb, g.stride_b, in);
    auto weights = operand(g.batch, g.k, g.m, g.trans_a, g.lda, g.stride_a, in);
    auto dst = operand(g.batch, g.n, g.m, false, g.ldo, g.stride_out, out);
    dnnl::primitive_attr attr;
    if (g.alpha != 1) attr.set_output_scales(0, {g.alpha});
    if (g.beta != 0) {
      dnnl::post_ops ops;
      ops.append_sum(g.beta);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, dst), attr, eng);
    // oneDNN's reference kernels are far slower than converting to f32.
    if (std::string(pd.impl_info_str()).rfind("ref", 0) == 0) return refuse();
    dnnl::matmul mm(pd);
    dnnl::stream stream(eng);
    dnnl::memory src_mem(src, eng, const_cast<void*>(g.b));
    dnnl::memory weights_mem(weights, eng, const_cast<void*>(g.a));
    dnnl::memory dst_mem(dst, eng, g.out);
    mm.execute(stream, {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, weights_mem}, {DNNL_ARG_DST, dst_mem}});
    stream.wait();
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented) return refuse();
    return false;
  }
  return true;
}

}  // namespace modnn::cpu
