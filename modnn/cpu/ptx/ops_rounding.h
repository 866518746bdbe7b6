// Handlers for IEEE operations under a directed rounding mode (.rz .rm .rp
// and explicit .rn where it matters): they switch the host FPU rounding
// mode around the lane loop. Built in a file compiled with -frounding-math.
#pragma once
#include "modnn/cpu/ptx/float_bits.h"
#include "modnn/cpu/ptx/ptx_ir.h"
#include "modnn/cpu/ptx/ptx_types.h"

namespace modnn::ptx {

enum class FOp : uint8_t { Add, Sub, Mul, Fma, Div, Sqrt, Rcp };

// d = op(a[, b[, c]]) in f32/f64 rounded per `r`; ftz/sat as in PTX.
// Operands: r[0] d, r[1..3] sources. nullptr for unsupported combinations.
Handler roundedFloatHandler(FOp op, Ty ty, Round r, bool ftz, bool sat);

// Integer -> float and float -> narrower float conversions with rounding
// mode `r`: r[0] d (type dt), r[1] a (type st).
Handler roundedConvertHandler(Ty dt, Ty st, Round r, bool ftz, bool sat);

// The Inst::aux value these handlers expect for rounding mode `r`.
int roundingAux(Round r);

}  // namespace modnn::ptx
