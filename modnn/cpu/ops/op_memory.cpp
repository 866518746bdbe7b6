// Scalars of running ops.
#include "modnn/cpu/ops/op_memory.h"

#include "modnn/cpu/ops/convert.h"

namespace modnn::cpu {

void loadScalar(const OpDevice& dev, const double host[2], uint64_t ptr, modnn_dtype type, double out[2]) {
  if (!ptr) {
    out[0] = host[0];
    out[1] = host[1];
    return;
  }
  out[1] = 0;
  const uint8_t* p = operand(dev, ptr, modnn_dtype_size(type));
  switch (type) {
    case MODNN_F32: out[0] = *reinterpret_cast<const float*>(p); break;
    case MODNN_F64: out[0] = *reinterpret_cast<const double*>(p); break;
    case MODNN_C32:
      out[0] = reinterpret_cast<const float*>(p)[0];
      out[1] = reinterpret_cast<const float*>(p)[1];
      break;
    case MODNN_C64:
      out[0] = reinterpret_cast<const double*>(p)[0];
      out[1] = reinterpret_cast<const double*>(p)[1];
      break;
    default: {
      float f;
      toFloat(p, type, &f, 1);
      out[0] = f;
    }
  }
}

}  // namespace modnn::cpu
