// cuBLAS calls as recorded moDNN ops: types, scalars, the device ranges an
// op touches (derived from the op itself), and submission on a stream.
#pragma once
#include <cstdint>
#include <type_traits>

#include "interpose/cublas/api.h"
#include "interpose/cublas/handle.h"
#include "modnn/ops.h"

namespace moai::cublas {

// The moDNN dtype of a cuBLAS element type.
template <class T>
constexpr modnn_dtype dtypeOf() {
  if constexpr (std::is_same_v<T, float>) return MODNN_F32;
  else if constexpr (std::is_same_v<T, double>) return MODNN_F64;
  else if constexpr (std::is_same_v<T, __half>) return MODNN_F16;
  else if constexpr (std::is_same_v<T, cuComplex>) return MODNN_C32;
  else if constexpr (std::is_same_v<T, cuDoubleComplex>) return MODNN_C64;
  else if constexpr (std::is_same_v<T, int>) return MODNN_I32;
  else {
    static_assert(std::is_same_v<T, int64_t>);
    return MODNN_I64;
  }
}

// cudaDataType -> moDNN dtype; false for types moDNN does not name.
bool toDtype(cudaDataType t, modnn_dtype* out);

inline uint64_t va(const void* p) { return reinterpret_cast<uint64_t>(p); }

inline bool validOp(cublasOperation_t op) {
  return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

// A scalar argument: in host pointer mode its value is read now into v[2]
// (real, imaginary); in device pointer mode *ptr gets its address and the op
// reads it when it runs.
void readScalar(bool device, const void* p, modnn_dtype type, double v[2], uint64_t* ptr);

inline bool isZero(const double v[2], uint64_t ptr) { return ptr == 0 && v[0] == 0 && v[1] == 0; }

// A zeroed op of `kind` with its struct sizes set.
modnn_op gemmOp();
modnn_op blasOp(modnn_blas_fn fn, modnn_dtype type);

// Reads a BLAS op's alpha and beta (null: the op has none) in the handle's
// pointer mode and records the op on the handle's stream.
cublasStatus_t recordBlas(const cublasContext& h, modnn_op& op, const void* alpha, const void* beta);

// Records `op` on `stream` with every range it touches.
cublasStatus_t record(const modnn_op& op, cudaStream_t stream);
// Runs `op` and waits for it: for results the host reads at once.
cublasStatus_t runSync(const modnn_op& op, cudaStream_t stream);

}  // namespace moai::cublas
