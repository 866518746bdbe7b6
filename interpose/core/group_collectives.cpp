// Collectives between the members of a device group (group_state.h): the
// ring reduce-scatter that adds up a GEMM's partial sums when it is split by K.
#include <sys/mman.h>

#include <algorithm>

#include "interpose/core/group_state.h"
#include "interpose/core/log.h"

namespace moai::group_impl {

namespace {

modnn_op addOp(const Matrix& m, int64_t j0, int64_t j1, uint64_t scratch) {
  size_t es = modnn_dtype_size(m.type);
  modnn_op op{};
  op.struct_size = sizeof op;
  op.kind = MODNN_OP_BLAS;
  modnn_blas& b = op.u.blas;
  b.struct_size = sizeof b;
  b.fn = MODNN_BLAS_GEAM;  // C = A + B with C = A: adds the chunk received in place
  b.type = m.type;
  b.m = m.rows;
  b.n = j1 - j0;
  b.a = b.c = m.va + uint64_t(j0 * m.ld) * es;
  b.b = scratch;
  b.lda = b.ldb = b.ldc = m.ld;
  b.alpha[0] = b.beta[0] = 1;
  return op;
}

}  // namespace

bool canReduce(Group* g, modnn_dtype type) {
  if (type != MODNN_F32 && type != MODNN_F64) return false;
  std::atomic<int8_t>& known = g->reduces[type == MODNN_F64];
  if (known >= 0) return known == 1;
  Matrix probe{g->range_base, 1, 1, 1, type};
  modnn_op op = addOp(probe, 0, 1, 0);
  bool all = true;
  for (const modnn_device& d : g->devs)
    all = all && d.iface->supports_op && d.iface->supports_op(d.ctx, &op) && d.iface->run_op;
  known = all ? 1 : 0;
  return all;
}

modnn_status reserveScratch(Group* g, int ways, const Matrix& m) {
  int64_t widest = 0;
  for (int c = 0; c < ways; ++c) {
    auto [j0, j1] = columnsOf(m, c, ways);
    widest = std::max(widest, j1 - j0);
  }
  uint64_t bytes = modnn_matrix_bytes(m.rows, widest, m.ld, modnn_dtype_size(m.type));
  auto& s = g->scratch;
  if (!s.va) {
    // Members that take any address: one this process holds, so the client never mints it.
    void* p = mmap(nullptr, kScratchSpan, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return MODNN_ERR_OUT_OF_MEMORY;
    s.va = reinterpret_cast<uint64_t>(p);
    s.mapped = true;
  }
  if (bytes > kScratchSpan) return MODNN_ERR_OUT_OF_MEMORY;
  releaseScratch(g);
  s.parts.assign(g->devs.size(), nullptr);
  for (size_t i = 0; i < size_t(ways); ++i)
    if (modnn_status st = g->devs[i].iface->buffer_alloc(g->devs[i].ctx, s.va, bytes, &s.parts[i]); st != MODNN_OK) {
      releaseScratch(g);
      return st;
    }
  s.size = bytes;
  return MODNN_OK;
}

void releaseScratch(Group* g, bool unreserve) {
  auto& s = g->scratch;
  for (size_t i = 0; i < s.parts.size() && i < g->devs.size(); ++i)
    if (s.parts[i]) g->devs[i].iface->buffer_free(g->devs[i].ctx, s.parts[i]);
  s.parts.clear();
  s.size = 0;
  if (unreserve && s.mapped) munmap(reinterpret_cast<void*>(s.va), kScratchSpan);
  if (unreserve && s.mapped) s.va = 0, s.mapped = false;
}

modnn_status reduceScatterColumns(Group* g, int ways, const Matrix& m) {
  if (ways < 2) return MODNN_OK;
  size_t es = modnn_dtype_size(m.type);
  uint64_t off = 0;
  GroupBuffer* b = findBuffer(g, m.va, modnn_matrix_bytes(m.rows, m.cols, m.ld, es), &off);
  if (!b || g->scratch.parts.size() < size_t(ways) || !g->scratch.parts[size_t(ways - 1)]) return MODNN_ERR_ILLEGAL_ADDRESS;
  bool host_memory = true;
  for (auto& d : g->devs) host_memory = host_memory && d.iface->buffer_host_pointer;
  // Step s: member r receives chunk (r - s - 2) mod ways from member r - 1
  // and adds its own partial; after ways - 1 steps member r holds chunk r.
  for (int s = 0; s < ways - 1; ++s) {
    auto step = [&](int r, const modnn_device& d) -> modnn_status {
      if (r >= ways) return MODNN_OK;
      int from = (r + ways - 1) % ways, c = ((r - s - 2) % ways + 2 * ways) % ways;
      auto [j0, j1] = columnsOf(m, c, ways);
      if (j0 == j1) return MODNN_OK;
      uint64_t bytes = modnn_matrix_bytes(m.rows, j1 - j0, m.ld, es);
      g->bytes_moved += bytes;
      modnn_status st = copyBuffer(g->devs[size_t(from)], b->parts[size_t(from)],
                                   partOffset(b, from, off + uint64_t(j0 * m.ld) * es), d, g->scratch.parts[size_t(r)],
                                   0, bytes, true);
      modnn_op add = addOp(m, j0, j1, g->scratch.va);
      return st != MODNN_OK ? st : d.iface->run_op(d.ctx, &add);
    };
    // Host-memory members copy from each other's memory, all at once;
    // remote ones only queue the sends and adds, in stream order on each.
    modnn_status st = host_memory ? onAll(g, step) : eachInTurn(g, step);
    if (st != MODNN_OK) return st;
  }
  // Freed at once: the group's memory is invisible to the program's
  // accounting (offload, quotas), so it exists only during a reduction.
  // A device frees a buffer after the work already queued on it.
  releaseScratch(g);
  for (auto& d : g->devs)
    if (d.iface->flush) d.iface->flush(d.ctx);
  return MODNN_OK;
}

}  // namespace moai::group_impl
