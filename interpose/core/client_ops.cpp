// Client: moDNN ops recorded as graph nodes (GEMM and the ops to come).
#include "interpose/core/client.h"

namespace moai {

bool Client::supportsOp(const modnn_op& op) const {
  const modnn_device_i* d = device_.iface;
  return d && d->supports_op && d->run_op && d->supports_op(device_.ctx, &op);
}

modnn_status Client::recordOpLocked(const modnn_op& op, const std::vector<DeviceRange>& ranges, Stream* handle,
                                    StreamPos* out) {
  Stream* s = nullptr;
  modnn_status st = resolveStreamLocked(handle, &s);
  if (st != MODNN_OK) return st;
  if ((st = health()) != MODNN_OK) return st;
  if (!supportsOp(op)) return MODNN_ERR_NOT_SUPPORTED;
  ModnnOp rec;
  rec.op = op;
  for (const DeviceRange& r : ranges) {
    if (r.bytes == 0) continue;
    if (auto* a = allocs_.findRange(r.va, r.bytes)) {
      rec.keep_alive.push_back(*a);
      continue;
    }
    const HostRegion* h = allocs_.findHost(r.va);
    if (!h || r.bytes > h->size || r.va - h->base > h->size - r.bytes) return MODNN_ERR_INVALID_VALUE;
  }
  if (op.kind == MODNN_OP_GEMM) {
    forecast_.op(gemmWorkspaceBytes(op.u.gemm, props_));
    forecastChangedLocked();
  }
  *out = submitLocked(s, std::move(rec));
  return MODNN_OK;
}

modnn_status Client::submitOp(const modnn_op& op, const std::vector<DeviceRange>& ranges, Stream* stream) {
  std::lock_guard<std::mutex> lock(mu_);
  StreamPos pos;
  return recordOpLocked(op, ranges, stream, &pos);
}

modnn_status Client::runOpSync(const modnn_op& op, const std::vector<DeviceRange>& ranges, Stream* stream) {
  if (inHostCallback()) return MODNN_ERR_NOT_PERMITTED;
  StreamPos pos;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (modnn_status st = recordOpLocked(op, ranges, stream, &pos); st != MODNN_OK) return st;
  }
  waitFor(pos);
  return finishSync();
}

}  // namespace moai
