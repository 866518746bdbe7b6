// Helpers shared by the instruction families: picking a handler template
// instantiation from a PTX type, and generic unary/binary/ternary lane
// handlers over functor types.
#pragma once
#include <cstdint>
#include <type_traits>

#include "modnn/cpu/ptx/ptx_decode_ctx.h"
#include "modnn/cpu/ptx/ptx_exec.h"

namespace modnn::ptx {

// Calls pick.template operator()<T>() with the C++ type of integer PTX type `t`.
template <class F>
Handler byIntType(Ty t, F&& pick) {
  switch (t) {
    case Ty::U8: case Ty::B8: return pick.template operator()<uint8_t>();
    case Ty::S8: return pick.template operator()<int8_t>();
    case Ty::U16: case Ty::B16: return pick.template operator()<uint16_t>();
    case Ty::S16: return pick.template operator()<int16_t>();
    case Ty::U32: case Ty::B32: return pick.template operator()<uint32_t>();
    case Ty::S32: return pick.template operator()<int32_t>();
    case Ty::U64: case Ty::B64: return pick.template operator()<uint64_t>();
    case Ty::S64: return pick.template operator()<int64_t>();
    default: return nullptr;
  }
}

template <class F>
Handler byFloatType(Ty t, F&& pick) {
  switch (t) {
    case Ty::F32: return pick.template operator()<float>();
    case Ty::F64: return pick.template operator()<double>();
    default: return nullptr;
  }
}

// d = Op::f(a) ; r[0] = d, r[1] = a
template <class D, class S, class Op>
modnn_status hUnary(Warp& w, const Inst& in, uint32_t m) {
  const S* a = R<S>(w, in.r[1]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) { return Op::template f<S>(a[l], in); });
  return MODNN_OK;
}

// d = Op::f(a, b) ; r[0..2]
template <class D, class S, class Op>
modnn_status hBinary(Warp& w, const Inst& in, uint32_t m) {
  const S* a = R<S>(w, in.r[1]);
  const S* b = R<S>(w, in.r[2]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) { return Op::template f<S>(a[l], b[l], in); });
  return MODNN_OK;
}

// d = Op::f(a, b, c) ; r[0..3]
template <class D, class S, class Op>
modnn_status hTernary(Warp& w, const Inst& in, uint32_t m) {
  const S* a = R<S>(w, in.r[1]);
  const S* b = R<S>(w, in.r[2]);
  const S* c = R<S>(w, in.r[3]);
  lanesOut(R<D>(w, in.r[0]), m, [&](uint32_t l) { return Op::template f<S>(a[l], b[l], c[l], in); });
  return MODNN_OK;
}

// Operands d, a, b[, c] of one type for a plain arithmetic instruction.
inline bool operandsSameType(DecodeCtx& c, Ty ty, size_t nsrc, Inst& in) {
  if (!c.want(1 + nsrc)) return false;
  if (!c.dst(0, ty, in.r[0])) return false;
  for (size_t i = 0; i < nsrc; ++i)
    if (!c.src(1 + i, ty, in.r[1 + i])) return false;
  return true;
}

}  // namespace modnn::ptx
