// Monomial feature maps of the polynomial method (Alman & Song): for x ∈ R^h and the monomials
// of total degree ≤ g in graded order, feature m of x is weight_m · x^{a(m)}, built by one
// multiplication from its parent monomial (degree one lower), so a whole table costs one
// multiply per feature. Features are stored feature-major (one column per input point) so that
// the loop over points is the vectorised one; the body is stamped once per instruction set and
// vectorised by the compiler at the width the target attribute allows.

#include "ops.h"

#define LGK_DEFINE_FEATURES(S, ATTRIBUTE)                                                       \
  ATTRIBUTE void lgk_features_##S(int64_t rows, const float *x_t, int64_t ldx, int64_t count,    \
                                  const int32_t *parent, const int32_t *variable, float *out,    \
                                  int64_t ldo) {                                                 \
    for (int64_t r = 0; r < rows; r++) out[r] = 1.0f;                                            \
    for (int64_t m = 1; m < count; m++) {                                                        \
      const float *from = out + (int64_t)parent[m] * ldo;                                        \
      const float *factor = x_t + (int64_t)variable[m] * ldx;                                    \
      float *to = out + m * ldo;                                                                 \
      for (int64_t r = 0; r < rows; r++) to[r] = from[r] * factor[r];                            \
    }                                                                                            \
  }                                                                                              \
  ATTRIBUTE void lgk_weigh_##S(int64_t rows, int64_t count, const float *weight, float *out,     \
                               int64_t ldo) {                                                    \
    for (int64_t m = 0; m < count; m++) {                                                        \
      float *row = out + m * ldo;                                                                \
      for (int64_t r = 0; r < rows; r++) row[r] *= weight[m];                                    \
    }                                                                                            \
  }

#define LGK_NO_ATTRIBUTE
LGK_DEFINE_FEATURES(portable, LGK_NO_ATTRIBUTE)
#if LGK_X86
LGK_DEFINE_FEATURES(avx512, LGK_TARGET_AVX512)
LGK_DEFINE_FEATURES(avx2, LGK_TARGET_AVX2)
#endif

void lgk_monomial_features(const lgk_ops *ops, int64_t rows, const float *x_t, int64_t ldx,
                           int64_t count, const int32_t *parent, const int32_t *variable,
                           const float *weight, float *out, int64_t ldo) {
  ops->features(rows, x_t, ldx, count, parent, variable, out, ldo);
  if (weight) ops->weigh(rows, count, weight, out, ldo);
}
