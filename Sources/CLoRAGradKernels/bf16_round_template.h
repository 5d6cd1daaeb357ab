// The packed bf16 forms of the fp32 kernels' fallback (lgk_exact.h): each value rounded to
// bfloat16 (nearest even, subnormals to a signed zero) and kept as a float, the two of every pair
// swapped, written once and instantiated per instruction set (bf16_round_portable.c,
// bf16_round_avx2.c, bf16_round_avx512.c) as branch-free loops the compiler vectorises.
//
// Before including, define LGK_SUFFIX (the name suffix) and LGK_ATTRIBUTE (the function attribute
// selecting the instruction set, may be empty).

#include "bf16.h"

#define LGK_CAT2(a, b) a##_##b
#define LGK_CAT(a, b) LGK_CAT2(a, b)
#define LGK_NAME(name) LGK_CAT(name, LGK_SUFFIX)

/// x rounded to bfloat16, as a float.
LGK_ATTRIBUTE static inline float bf16_value(float x) { return lgk_bf16_float(lgk_bf16_round(x)); }

LGK_ATTRIBUTE void LGK_NAME(lgk_bf16_pack_rows)(int64_t rows, int64_t cols, const float *m, int64_t ldm, void *out,
                                                int64_t ldo) {
  for (int64_t i = 0; i < rows; i++) {
    const float *src = m + i * ldm;
    float *dst = (float *)out + i * ldo;
    for (int64_t t = 0; t < cols / 2; t++) {
      dst[2 * t] = bf16_value(src[2 * t + 1]);
      dst[2 * t + 1] = bf16_value(src[2 * t]);
    }
    if (cols % 2) {
      dst[cols - 1] = 0.0f;
      dst[cols] = bf16_value(src[cols - 1]);
    }
  }
}

LGK_ATTRIBUTE void LGK_NAME(lgk_bf16_pack_row_pairs)(int64_t rows, int64_t cols, const float *m, int64_t ldm,
                                                     void *out, int64_t ldo) {
  for (int64_t t = 0; t < (rows + 1) / 2; t++) {
    const float *even = m + 2 * t * ldm, *odd = even + ldm;
    float *first = (float *)out + 2 * t * ldo, *second = first + ldo;
    if (2 * t + 1 < rows)
      for (int64_t j = 0; j < cols; j++) first[j] = bf16_value(odd[j]);
    else
      for (int64_t j = 0; j < cols; j++) first[j] = 0.0f;
    for (int64_t j = 0; j < cols; j++) second[j] = bf16_value(even[j]);
  }
}
