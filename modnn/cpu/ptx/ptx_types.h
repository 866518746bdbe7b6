// PTX fundamental types: what a `.u32` or `.f16x2` suffix means.
#pragma once
#include <cstdint>
#include <string_view>

namespace modnn::ptx {

enum class Ty : uint8_t {
  None, Pred,
  B8, B16, B32, B64, B128,
  U8, U16, U32, U64,
  S8, S16, S32, S64,
  F16, F16x2, BF16, BF16x2, F32, F64, TF32,
};

enum class TyClass : uint8_t { None, Pred, Bits, Unsigned, Signed, Float };

Ty parseTy(std::string_view s);  // Ty::None when `s` is not a type name
std::string_view tyName(Ty t);
uint32_t tySize(Ty t);           // bytes; 0 for Pred and None
TyClass tyClass(Ty t);
inline bool isFloat(Ty t) { return tyClass(t) == TyClass::Float; }
inline bool isSigned(Ty t) { return tyClass(t) == TyClass::Signed; }
inline bool isInt(Ty t) {
  TyClass c = tyClass(t);
  return c == TyClass::Bits || c == TyClass::Unsigned || c == TyClass::Signed;
}

}  // namespace modnn::ptx
