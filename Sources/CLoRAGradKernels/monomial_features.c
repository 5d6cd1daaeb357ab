// Monomial feature maps of the polynomial method (Alman & Song): for x ∈ R^h and the monomials
// of total degree ≤ g in graded order, feature m of x is weight_m · x^{a(m)}, built by one
// multiplication from its parent monomial (degree one lower), so a whole table costs one
// multiply per feature. Features are stored transposed (feature-major, one column per row of
// the input) so that the loop over rows is the vectorised one.

#include "CLoRAGradKernels.h"
#include "internal.h"

// One body, compiled once per instruction set: the loops over rows are what the compiler
// vectorises, at the width the target attribute allows.
#define LGK_DEFINE_FEATURES(SUFFIX, ATTRIBUTE)                                                \
  ATTRIBUTE static void lgk_features_##SUFFIX(int64_t rows, const float *x_t, int64_t ldx,      \
                                              int64_t count, const int32_t *parent,             \
                                              const int32_t *variable, float *out, int64_t ldo) {\
    for (int64_t r = 0; r < rows; r++) out[r] = 1.0f;                                           \
    for (int64_t m = 1; m < count; m++) {                                                       \
      const float *from = out + (int64_t)parent[m] * ldo;                                       \
      const float *factor = x_t + (int64_t)variable[m] * ldx;                                   \
      float *to = out + m * ldo;                                                                \
      for (int64_t r = 0; r < rows; r++) to[r] = from[r] * factor[r];                           \
    }                                                                                           \
  }                                                                                             \
  ATTRIBUTE static void lgk_weigh_##SUFFIX(int64_t rows, int64_t count, const float *weight,    \
                                           float *out, int64_t ldo) {                           \
    for (int64_t m = 0; m < count; m++) {                                                       \
      float *row = out + m * ldo;                                                               \
      for (int64_t r = 0; r < rows; r++) row[r] *= weight[m];                                   \
    }                                                                                           \
  }

#define LGK_NO_ATTRIBUTE
LGK_DEFINE_FEATURES(portable, LGK_NO_ATTRIBUTE)
#if LGK_X86
LGK_DEFINE_FEATURES(avx512, LGK_TARGET_AVX512)
LGK_DEFINE_FEATURES(avx2, LGK_TARGET_AVX2)
#endif

void lgk_monomial_features(int64_t rows, const float *x_t, int64_t ldx, int64_t count,
                           const int32_t *parent, const int32_t *variable, const float *weight,
                           float *out, int64_t ldo) {
#if LGK_X86
  switch (lgk_isa_active()) {
    case lgk_isa_avx512f:
      lgk_features_avx512(rows, x_t, ldx, count, parent, variable, out, ldo);
      if (weight) lgk_weigh_avx512(rows, count, weight, out, ldo);
      return;
    case lgk_isa_avx2_fma:
      lgk_features_avx2(rows, x_t, ldx, count, parent, variable, out, ldo);
      if (weight) lgk_weigh_avx2(rows, count, weight, out, ldo);
      return;
    default:
      break;
  }
#endif
  lgk_features_portable(rows, x_t, ldx, count, parent, variable, out, ldo);
  if (weight) lgk_weigh_portable(rows, count, weight, out, ldo);
}
