#include "modnn/cpu/ptx/ptx_types.h"

namespace modnn::ptx {
namespace {

struct TyInfo {
  std::string_view name;
  Ty ty;
  uint32_t size;
  TyClass cls;
};

constexpr TyInfo kTypes[] = {
    {"pred", Ty::Pred, 0, TyClass::Pred},      {"b8", Ty::B8, 1, TyClass::Bits},
    {"b16", Ty::B16, 2, TyClass::Bits},        {"b32", Ty::B32, 4, TyClass::Bits},
    {"b64", Ty::B64, 8, TyClass::Bits},        {"b128", Ty::B128, 16, TyClass::Bits},
    {"u8", Ty::U8, 1, TyClass::Unsigned},      {"u16", Ty::U16, 2, TyClass::Unsigned},
    {"u32", Ty::U32, 4, TyClass::Unsigned},    {"u64", Ty::U64, 8, TyClass::Unsigned},
    {"s8", Ty::S8, 1, TyClass::Signed},        {"s16", Ty::S16, 2, TyClass::Signed},
    {"s32", Ty::S32, 4, TyClass::Signed},      {"s64", Ty::S64, 8, TyClass::Signed},
    {"f16", Ty::F16, 2, TyClass::Float},       {"f16x2", Ty::F16x2, 4, TyClass::Float},
    {"bf16", Ty::BF16, 2, TyClass::Float},     {"bf16x2", Ty::BF16x2, 4, TyClass::Float},
    {"f32", Ty::F32, 4, TyClass::Float},       {"f64", Ty::F64, 8, TyClass::Float},
    {"tf32", Ty::TF32, 4, TyClass::Float},
};

const TyInfo* info(Ty t) {
  for (const auto& i : kTypes)
    if (i.ty == t) return &i;
  return nullptr;
}

}  // namespace

Ty parseTy(std::string_view s) {
  for (const auto& i : kTypes)
    if (i.name == s) return i.ty;
  return Ty::None;
}

std::string_view tyName(Ty t) {
  const TyInfo* i = info(t);
  return i ? i->name : "none";
}

uint32_t tySize(Ty t) {
  const TyInfo* i = info(t);
  return i ? i->size : 0;
}

TyClass tyClass(Ty t) {
  const TyInfo* i = info(t);
  return i ? i->cls : TyClass::None;
}

}  // namespace modnn::ptx
