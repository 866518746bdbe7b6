// GEMM epilogues, as cuBLASLt defines them: bias before the activation, the
// pre-activation saved in aux, GELU as its tanh approximation.
#include "modnn/cpu/ops/gemm_epilogue.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <type_traits>

#include "modnn/cpu/ops/convert.h"

namespace modnn::cpu {
namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kGeluCoeff = 0.044715;

template <class T>
T gelu(T x) {
  T u = T(kSqrt2OverPi) * (x + T(kGeluCoeff) * x * x * x);
  return T(0.5) * x * (T(1) + std::tanh(u));
}

template <class T>
T geluGrad(T x) {
  T u = T(kSqrt2OverPi) * (x + T(kGeluCoeff) * x * x * x);
  T t = std::tanh(u);
  return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCoeff) * x * x);
}

// n elements of `type` to T and back (T double: the type is F64).
template <class T>
void load(const void* src, modnn_dtype type, T* dst, size_t n) {
  if constexpr (std::is_same_v<T, float>) {
    toFloat(src, type, dst, n);
  } else {
    std::memcpy(dst, src, n * sizeof(T));
  }
}

template <class T>
void store(const T* src, modnn_dtype type, void* dst, size_t n) {
  if constexpr (std::is_same_v<T, float>) {
    fromFloat(src, type, dst, n);
  } else {
    std::memcpy(dst, src, n * sizeof(T));
  }
}

uint8_t* column(uint8_t* base, int64_t j, int64_t ld, modnn_dtype type) {
  return base + size_t(j * ld) * modnn_dtype_size(type);
}

// Sums over k of op(X) (rows x k after op), X stored column-major.
template <class T>
void sumOverK(const uint8_t* x, modnn_dtype type, bool trans, int64_t rows, int64_t k, int64_t ld, T* out) {
  int64_t stored_rows = trans ? k : rows, stored_cols = trans ? rows : k;
  std::unique_ptr<T[]> col(new T[size_t(stored_rows)]);
  for (int64_t i = 0; i < rows; ++i) out[i] = T(0);
  for (int64_t j = 0; j < stored_cols; ++j) {
    load(column(const_cast<uint8_t*>(x), j, ld, type), type, col.get(), size_t(stored_rows));
    if (trans) {
      T s = T(0);
      for (int64_t i = 0; i < stored_rows; ++i) s += col[i];
      out[j] = s;
    } else {
      for (int64_t i = 0; i < stored_rows; ++i) out[i] += col[i];
    }
  }
}

}  // namespace

template <class T>
void applyEpilogue(const modnn_gemm& g, const GemmEntry& e, T* work, int64_t ld) {
  const modnn_gemm_epilogue ep = g.epilogue;
  const int64_t m = g.m, n = g.n;
  if (ep == MODNN_EPILOGUE_DEFAULT) return;
  std::unique_ptr<T[]> vec(new T[size_t(std::max(m, n))]);
  switch (ep) {
    case MODNN_EPILOGUE_BGRADA:
      sumOverK(e.a, g.a_type, g.trans_a, m, g.k, g.lda, vec.get());
      store(vec.get(), g.bias_type, e.bias, size_t(m));
      return;
    case MODNN_EPILOGUE_BGRADB:
      // Column sums of op(B) are the row sums of op(B)^T.
      sumOverK(e.b, g.b_type, !g.trans_b, n, g.k, g.ldb, vec.get());
      store(vec.get(), g.bias_type, e.bias, size_t(n));
      return;
    default: break;
  }
  bool bias = ep == MODNN_EPILOGUE_BIAS || ep == MODNN_EPILOGUE_RELU_BIAS || ep == MODNN_EPILOGUE_GELU_BIAS ||
              ep == MODNN_EPILOGUE_GELU_AUX_BIAS;
  bool save_aux = ep == MODNN_EPILOGUE_GELU_AUX || ep == MODNN_EPILOGUE_GELU_AUX_BIAS;
  bool relu = ep == MODNN_EPILOGUE_RELU || ep == MODNN_EPILOGUE_RELU_BIAS;
  bool gelu_fwd = ep == MODNN_EPILOGUE_GELU || ep == MODNN_EPILOGUE_GELU_BIAS || save_aux;
  bool dgelu = ep == MODNN_EPILOGUE_DGELU || ep == MODNN_EPILOGUE_DGELU_BGRAD;
  if (bias) load(e.bias, g.bias_type, vec.get(), size_t(m));
  std::unique_ptr<T[]> aux(dgelu ? new T[size_t(m)] : nullptr);
  std::unique_ptr<T[]> bgrad(ep == MODNN_EPILOGUE_DGELU_BGRAD ? new T[size_t(m)]() : nullptr);
  for (int64_t j = 0; j < n; ++j) {
    T* d = work + j * ld;
    if (bias)
      for (int64_t i = 0; i < m; ++i) d[i] += vec[i];
    if (save_aux) store(d, g.aux_type, column(e.aux, j, g.ld_aux, g.aux_type), size_t(m));
    if (relu)
      for (int64_t i = 0; i < m; ++i) d[i] = d[i] > T(0) ? d[i] : T(0);
    if (gelu_fwd)
      for (int64_t i = 0; i < m; ++i) d[i] = gelu(d[i]);
    if (dgelu) {
      load(column(e.aux, j, g.ld_aux, g.aux_type), g.aux_type, aux.get(), size_t(m));
      for (int64_t i = 0; i < m; ++i) d[i] *= geluGrad(aux[i]);
    }
    if (bgrad)
      for (int64_t i = 0; i < m; ++i) bgrad[i] += d[i];
  }
  if (bgrad) store(bgrad.get(), g.bias_type, e.bias, size_t(m));
}

template void applyEpilogue<float>(const modnn_gemm&, const GemmEntry&, float*, int64_t);
template void applyEpilogue<double>(const modnn_gemm&, const GemmEntry&, double*, int64_t);

}  // namespace modnn::cpu
