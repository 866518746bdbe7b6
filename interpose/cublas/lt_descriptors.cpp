// cuBLASLt matmul descriptors, matrix layouts and preferences: create,
// initialise in place, destroy, set and get attributes.
#include <cstddef>
#include <cstring>
#include <new>

#include "interpose/cublas/lt.h"

namespace moai::cublas {
namespace {

static_assert(sizeof(LtMatmulDesc) <= sizeof(cublasLtMatmulDescOpaque_t));
static_assert(sizeof(LtLayout) <= sizeof(cublasLtMatrixLayoutOpaque_t));
static_assert(sizeof(LtPreference) <= sizeof(cublasLtMatmulPreferenceOpaque_t));

constexpr uint32_t kDescMagic = 0x4d4c6d64;    // "dmLM"
constexpr uint32_t kLayoutMagic = 0x4d4c6c79;  // "ylLM"
constexpr uint32_t kPrefMagic = 0x4d4c7066;    // "fpLM"

struct Field {
  int attr;
  size_t offset;
  size_t size;
};

#define MOAI_FIELD(type, attr, member) {attr, offsetof(type, member), sizeof(type::member)}

const Field kDescFields[] = {
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, compute_type),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, scale_type),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_POINTER_MODE, pointer_mode),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_TRANSA, transa),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_TRANSB, transb),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_TRANSC, transc),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_FILL_MODE, fill_mode),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, bias_batch_stride),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, aux),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, aux_ld),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, aux_batch_stride),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_ALPHA_VECTOR_BATCH_STRIDE, alpha_vector_batch_stride),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET, sm_count_target),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, a_scale),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, b_scale),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_C_SCALE_POINTER, c_scale),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, d_scale),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_AMAX_D_POINTER, amax_d),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, aux_data_type),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_POINTER, aux_scale),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_AMAX_POINTER, aux_amax),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, fast_accum),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, bias_data_type),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, a_scale_mode),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, b_scale_mode),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_C_SCALE_MODE, c_scale_mode),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_D_SCALE_MODE, d_scale_mode),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_MODE, aux_scale_mode),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_D_OUT_SCALE_POINTER, d_out_scale),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_D_OUT_SCALE_MODE, d_out_scale_mode),
    MOAI_FIELD(LtMatmulDesc, CUBLASLT_MATMUL_DESC_EMULATION_DESCRIPTOR, emulation),
};

const Field kLayoutFields[] = {
    MOAI_FIELD(LtLayout, CUBLASLT_MATRIX_LAYOUT_TYPE, type),
    MOAI_FIELD(LtLayout, CUBLASLT_MATRIX_LAYOUT_ORDER, order),
    MOAI_FIELD(LtLayout, CUBLASLT_MATRIX_LAYOUT_ROWS, rows),
    MOAI_FIELD(LtLayout, CUBLASLT_MATRIX_LAYOUT_COLS, cols),
    MOAI_FIELD(LtLayout, CUBLASLT_MATRIX_LAYOUT_LD, ld),
    MOAI_FIELD(LtLayout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, batch_count),
    MOAI_FIELD(LtLayout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, batch_offset),
    MOAI_FIELD(LtLayout, CUBLASLT_MATRIX_LAYOUT_PLANE_OFFSET, plane_offset),
    MOAI_FIELD(LtLayout, CUBLASLT_MATRIX_LAYOUT_BATCH_MODE, batch_mode),
};

const Field kPrefFields[] = {
    MOAI_FIELD(LtPreference, CUBLASLT_MATMUL_PREF_SEARCH_MODE, search_mode),
    MOAI_FIELD(LtPreference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, max_workspace_bytes),
    MOAI_FIELD(LtPreference, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, reduction_scheme_mask),
    {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, offsetof(LtPreference, min_alignment) + 0, 4},
    {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, offsetof(LtPreference, min_alignment) + 4, 4},
    {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, offsetof(LtPreference, min_alignment) + 8, 4},
    {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, offsetof(LtPreference, min_alignment) + 12, 4},
    MOAI_FIELD(LtPreference, CUBLASLT_MATMUL_PREF_MAX_WAVES_COUNT, max_waves_count),
    MOAI_FIELD(LtPreference, CUBLASLT_MATMUL_PREF_IMPL_MASK, impl_mask),
};

#undef MOAI_FIELD

// Our state inside the program's descriptor, when initialised.
template <class State>
State* stateOf(void* opaque, uint32_t magic) {
  auto* s = static_cast<State*>(opaque);
  return s && s->magic == magic ? s : nullptr;
}

template <size_t N>
const Field* findField(const Field (&fields)[N], int attr) {
  for (const Field& f : fields)
    if (f.attr == attr) return &f;
  return nullptr;
}

template <size_t N>
cublasStatus_t setField(void* state, const Field (&fields)[N], int attr, const void* buf, size_t size) {
  const Field* f = findField(fields, attr);
  if (!state || !f || !buf || size != f->size) return CUBLAS_STATUS_INVALID_VALUE;
  std::memcpy(static_cast<char*>(state) + f->offset, buf, size);
  return CUBLAS_STATUS_SUCCESS;
}

// size 0 asks for the size the attribute needs.
template <size_t N>
cublasStatus_t getField(const void* state, const Field (&fields)[N], int attr, void* buf, size_t size,
                        size_t* written) {
  const Field* f = findField(fields, attr);
  if (!state || !f) return CUBLAS_STATUS_INVALID_VALUE;
  if (size == 0) {
    if (!written) return CUBLAS_STATUS_INVALID_VALUE;
    *written = f->size;
    return CUBLAS_STATUS_SUCCESS;
  }
  if (!buf || size != f->size) return CUBLAS_STATUS_INVALID_VALUE;
  std::memcpy(buf, static_cast<const char*>(state) + f->offset, size);
  if (written) *written = f->size;
  return CUBLAS_STATUS_SUCCESS;
}

// Creates a descriptor of `Opaque` storage and initialises it with `init`.
template <class Opaque, class Init>
cublasStatus_t create(Opaque** out, Init init) {
  if (!out) return CUBLAS_STATUS_INVALID_VALUE;
  auto* d = new (std::nothrow) Opaque{};
  if (!d) return CUBLAS_STATUS_ALLOC_FAILED;
  if (cublasStatus_t st = init(d); st != CUBLAS_STATUS_SUCCESS) {
    delete d;
    return st;
  }
  *out = d;
  return CUBLAS_STATUS_SUCCESS;
}

template <class Opaque, class State>
State* initIn(Opaque* storage, size_t size) {
  if (!storage || size < sizeof(Opaque)) return nullptr;
  std::memset(storage, 0, sizeof(Opaque));
  return new (storage) State{};
}

}  // namespace

const LtMatmulDesc* matmulDesc(cublasLtMatmulDesc_t d) { return stateOf<LtMatmulDesc>(d, kDescMagic); }

const LtLayout* layout(cublasLtMatrixLayout_t l) { return stateOf<LtLayout>(l, kLayoutMagic); }

cublasStatus_t cublasLtMatmulDescInit_internal(cublasLtMatmulDesc_t matmulDesc, size_t size,
                                               cublasComputeType_t computeType, cudaDataType_t scaleType) {
  auto* d = initIn<cublasLtMatmulDescOpaque_t, LtMatmulDesc>(matmulDesc, size);
  if (!d) return CUBLAS_STATUS_ALLOC_FAILED;
  d->magic = kDescMagic;
  d->compute_type = computeType;
  d->scale_type = scaleType;
  d->pointer_mode = CUBLASLT_POINTER_MODE_HOST;
  d->transa = d->transb = d->transc = CUBLAS_OP_N;
  d->fill_mode = CUBLAS_FILL_MODE_FULL;
  d->epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  d->aux_data_type = d->bias_data_type = -1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* matmulDesc, cublasComputeType_t computeType,
                                        cudaDataType_t scaleType) {
  return create(matmulDesc, [&](cublasLtMatmulDesc_t d) {
    return cublas::cublasLtMatmulDescInit_internal(d, sizeof *d, computeType, scaleType);
  });
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc) {
  delete matmulDesc;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc, cublasLtMatmulDescAttributes_t attr,
                                              const void* buf, size_t sizeInBytes) {
  return setField(stateOf<LtMatmulDesc>(matmulDesc, kDescMagic), kDescFields, attr, buf, sizeInBytes);
}

cublasStatus_t cublasLtMatmulDescGetAttribute(cublasLtMatmulDesc_t matmulDesc, cublasLtMatmulDescAttributes_t attr,
                                              void* buf, size_t sizeInBytes, size_t* sizeWritten) {
  return getField(stateOf<LtMatmulDesc>(matmulDesc, kDescMagic), kDescFields, attr, buf, sizeInBytes, sizeWritten);
}

cublasStatus_t cublasLtMatrixLayoutInit_internal(cublasLtMatrixLayout_t matLayout, size_t size, cudaDataType type,
                                                 uint64_t rows, uint64_t cols, int64_t ld) {
  auto* l = initIn<cublasLtMatrixLayoutOpaque_t, LtLayout>(matLayout, size);
  if (!l) return CUBLAS_STATUS_ALLOC_FAILED;
  l->magic = kLayoutMagic;
  l->type = type;
  l->order = CUBLASLT_ORDER_COL;
  l->batch_count = 1;
  l->rows = rows;
  l->cols = cols;
  l->ld = ld;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* matLayout, cudaDataType type, uint64_t rows,
                                          uint64_t cols, int64_t ld) {
  return create(matLayout, [&](cublasLtMatrixLayout_t l) {
    return cublas::cublasLtMatrixLayoutInit_internal(l, sizeof *l, type, rows, cols, ld);
  });
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t matLayout) {
  delete matLayout;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t matLayout, cublasLtMatrixLayoutAttribute_t attr,
                                                const void* buf, size_t sizeInBytes) {
  return setField(stateOf<LtLayout>(matLayout, kLayoutMagic), kLayoutFields, attr, buf, sizeInBytes);
}

cublasStatus_t cublasLtMatrixLayoutGetAttribute(cublasLtMatrixLayout_t matLayout, cublasLtMatrixLayoutAttribute_t attr,
                                                void* buf, size_t sizeInBytes, size_t* sizeWritten) {
  return getField(stateOf<LtLayout>(matLayout, kLayoutMagic), kLayoutFields, attr, buf, sizeInBytes, sizeWritten);
}

cublasStatus_t cublasLtMatmulPreferenceInit_internal(cublasLtMatmulPreference_t pref, size_t size) {
  auto* p = initIn<cublasLtMatmulPreferenceOpaque_t, LtPreference>(pref, size);
  if (!p) return CUBLAS_STATUS_ALLOC_FAILED;
  p->magic = kPrefMagic;
  p->reduction_scheme_mask = CUBLASLT_REDUCTION_SCHEME_MASK;
  for (uint32_t& a : p->min_alignment) a = 256;
  p->impl_mask = ~uint64_t(0);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
  return create(pref, [](cublasLtMatmulPreference_t p) {
    return cublas::cublasLtMatmulPreferenceInit_internal(p, sizeof *p);
  });
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  delete pref;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void* buf,
                                                    size_t sizeInBytes) {
  return setField(stateOf<LtPreference>(pref, kPrefMagic), kPrefFields, attr, buf, sizeInBytes);
}

cublasStatus_t cublasLtMatmulPreferenceGetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr, void* buf,
                                                    size_t sizeInBytes, size_t* sizeWritten) {
  return getField(stateOf<LtPreference>(pref, kPrefMagic), kPrefFields, attr, buf, sizeInBytes, sizeWritten);
}

}  // namespace moai::cublas
