/* moDNN's op set: hardware-independent operations the client records as
 * graph nodes (not opaque calls), so the planner can reason about them and
 * every backend can run them with its own libraries.
 *
 * All device addresses are the client's virtual addresses. Matrices are
 * column-major, as in BLAS: element (i, j) of A is at a + (i + j*lda) * size.
 * Structs start with their size and only grow at the end.
 */
#ifndef MODNN_OPS_H
#define MODNN_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum modnn_dtype {
  MODNN_F32 = 0,
  MODNN_F64,
  MODNN_F16,
  MODNN_BF16,
  MODNN_C32,  /* complex float */
  MODNN_C64,  /* complex double */
  MODNN_I8,
  MODNN_I32,
  MODNN_I64,
} modnn_dtype;

/* The largest modnn_dtype: readers of untrusted input check against it. */
#define MODNN_DTYPE_MAX MODNN_I64

/* Bytes per element. */
static inline size_t modnn_dtype_size(modnn_dtype t) {
  switch (t) {
    case MODNN_F32: case MODNN_I32: return 4;
    case MODNN_F64: case MODNN_C32: case MODNN_I64: return 8;
    case MODNN_C64: return 16;
    case MODNN_F16: case MODNN_BF16: return 2;
    case MODNN_I8: return 1;
  }
  return 0;
}

/* Bytes spanned by a column-major rows x cols matrix with leading dimension
 * ld, of `elem`-byte elements (0 when empty). */
static inline uint64_t modnn_matrix_bytes(int64_t rows, int64_t cols, int64_t ld, size_t elem) {
  return rows <= 0 || cols <= 0 ? 0 : (uint64_t)((cols - 1) * ld + rows) * elem;
}

typedef enum modnn_op_kind {
  MODNN_OP_GEMM = 1,
  MODNN_OP_BLAS,              /* BLAS level 1 and 2, and level 3 other than GEMM */
} modnn_op_kind;

typedef enum modnn_gemm_epilogue {
  MODNN_EPILOGUE_DEFAULT = 0,
  MODNN_EPILOGUE_RELU,
  MODNN_EPILOGUE_BIAS,        /* D += bias broadcast along columns (bias has m entries) */
  MODNN_EPILOGUE_RELU_BIAS,
  MODNN_EPILOGUE_GELU,        /* tanh approximation, as cuBLASLt */
  MODNN_EPILOGUE_GELU_BIAS,
  MODNN_EPILOGUE_GELU_AUX,    /* also stores the pre-activation in aux */
  MODNN_EPILOGUE_GELU_AUX_BIAS,
  MODNN_EPILOGUE_DGELU,       /* D = gemm * gelu'(aux) */
  MODNN_EPILOGUE_DGELU_BGRAD, /* and bias = row sums of D */
  MODNN_EPILOGUE_BGRADA,      /* bias = row sums of op(A) (m entries) */
  MODNN_EPILOGUE_BGRADB,      /* bias = column sums of op(B) (n entries) */
} modnn_gemm_epilogue;

/* Does the epilogue read or write `bias` (m entries; n for BGRADB)? */
static inline bool modnn_epilogue_uses_bias(modnn_gemm_epilogue e) {
  return e != MODNN_EPILOGUE_DEFAULT && e != MODNN_EPILOGUE_RELU && e != MODNN_EPILOGUE_GELU &&
         e != MODNN_EPILOGUE_GELU_AUX && e != MODNN_EPILOGUE_DGELU;
}

/* Does the epilogue write (GELU_AUX*) or read (DGELU*) `aux`? */
static inline bool modnn_epilogue_uses_aux(modnn_gemm_epilogue e) {
  return e == MODNN_EPILOGUE_GELU_AUX || e == MODNN_EPILOGUE_GELU_AUX_BIAS || e == MODNN_EPILOGUE_DGELU ||
         e == MODNN_EPILOGUE_DGELU_BGRAD;
}

/* D[b] = epilogue(alpha * op(A[b]) @ op(B[b]) + beta * C[b]), b < batch.
 * With d == c, the result replaces C (classic BLAS). */
typedef struct modnn_gemm {
  size_t struct_size;
  bool trans_a, trans_b;      /* op(X) = X^T when set */
  bool conj_a, conj_b;        /* complex: op(X) = X^H when set with trans */
  int64_t m, n, k;
  uint64_t a, b, c, d;
  int64_t lda, ldb, ldc, ldd;
  int64_t batch;              /* >= 1 */
  int64_t stride_a, stride_b, stride_c, stride_d;  /* elements between batch entries */
  bool pointer_arrays;        /* a, b, c, d are device arrays of `batch` device pointers */
  modnn_dtype a_type, b_type, c_type, d_type;
  modnn_dtype compute_type;   /* accumulation precision */
  bool allow_tf32;            /* compute may round f32 inputs to tf32 */
  modnn_dtype scale_type;     /* type of alpha and beta */
  double alpha[2], beta[2];   /* host values (real, imaginary) */
  uint64_t alpha_ptr, beta_ptr; /* device scalars of scale_type, used when non-zero */
  modnn_gemm_epilogue epilogue;
  uint64_t bias;              /* vector of bias_type */
  modnn_dtype bias_type;
  uint64_t aux;               /* GELU_AUX output / DGELU input, m x n of aux_type */
  int64_t ld_aux;
  modnn_dtype aux_type;
  int64_t stride_bias, stride_aux; /* elements between batch entries */
} modnn_gemm;

/* The BLAS routines other than GEMM, on one dtype (F32, F64, C32 or C64).
 * Vectors have n elements spaced inc apart (negative inc: BLAS order, the
 * address is still the lowest element). Unused fields are zero. */
typedef enum modnn_blas_fn {
  MODNN_BLAS_AXPY = 1, /* y = alpha x + y */
  MODNN_BLAS_SCAL,     /* x = alpha x */
  MODNN_BLAS_DOT,      /* result = x . y (conj_a: conj(x) . y) */
  MODNN_BLAS_NRM2,     /* result = ||x||_2 (real, of the real part type) */
  MODNN_BLAS_ASUM,     /* result = sum |Re x| + |Im x| (real) */
  MODNN_BLAS_IAMAX,    /* result = 1-based index of the first max |x| (result_type I32 or I64) */
  MODNN_BLAS_IAMIN,    /* result = 1-based index of the first min |x| */
  MODNN_BLAS_COPY,     /* y = x */
  MODNN_BLAS_SWAP,     /* x <-> y */
  MODNN_BLAS_GEMV,     /* y = alpha op(A) x + beta y, A is m x n */
  MODNN_BLAS_GER,      /* A = alpha x y^T + A (conj_a: y^H), A is m x n */
  MODNN_BLAS_GEAM,     /* C = alpha op(A) + beta op(B), C is m x n */
  MODNN_BLAS_DGMM,     /* C = A diag(x) (right) or diag(x) A, A and C are m x n */
  MODNN_BLAS_TRSM,     /* solves op(A) X = alpha B (left) or X op(A) = alpha B; X replaces B (m x n) */
  MODNN_BLAS_SYRK,     /* C = alpha op(A) op(A)^T + beta C, the `upper` or lower triangle of n x n C */
} modnn_blas_fn;

typedef struct modnn_blas {
  size_t struct_size;
  modnn_blas_fn fn;
  modnn_dtype type;
  int64_t m, n, k;            /* k: SYRK's inner dimension */
  uint64_t x, y;
  int64_t incx, incy;
  uint64_t a, b, c;
  int64_t lda, ldb, ldc;
  bool trans_a, trans_b;      /* op(X) = X^T */
  bool conj_a, conj_b;        /* complex: op(X) = X^H with trans, conjugate for DOT/GER */
  bool right;                 /* DGMM, TRSM: the matrix multiplies from the right */
  bool upper;                 /* TRSM, SYRK: A's (C's) upper triangle is used */
  bool unit_diag;             /* TRSM: A's diagonal is taken as ones */
  double alpha[2], beta[2];   /* host values (real, imaginary) */
  uint64_t alpha_ptr, beta_ptr; /* device scalars of `type`, used when non-zero */
  uint64_t result;            /* DOT, NRM2, ASUM, IAMAX, IAMIN: device address of the result */
  modnn_dtype result_type;
} modnn_blas;

typedef struct modnn_op {
  size_t struct_size;
  modnn_op_kind kind;
  union {
    modnn_gemm gemm;
    modnn_blas blas;
  } u;
} modnn_op;

#ifdef __cplusplus
}
#endif

#endif
