// Rounding to bfloat16 and the packed operand forms of the bf16 products (lgk_exact.h), shared by
// the pack phase and the tiles that pack P and dS.

#ifndef LGK_BF16_H
#define LGK_BF16_H

#include <string.h>
#include "ops.h"

/// x rounded to bfloat16, to nearest even; zero and subnormals give a signed zero, as vdpbf16ps
/// reads them (finite x). Branch-free, so the loops of the packs vectorise.
static inline uint16_t lgk_bf16_round(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return (uint16_t)((u & 0x7f800000u) ? rounded : (u >> 16) & 0x8000u);
}

/// The float of a bfloat16.
static inline float lgk_bf16_float(uint16_t h) {
  const uint32_t u = (uint32_t)h << 16;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/// Elements of the paired dimension per word: 2 for native pairs, 1 for swapped floats.
static inline int64_t lgk_bf16_step(const lgk_ops *ops) { return ops->bf16_gemm ? 2 : 1; }

/// The `rows` form of the rows × cols block m (ld ldm) into out (ld ldo words): row i paired along
/// its columns, cols rounded up to even with a zero.
static inline void lgk_bf16_pack_rows(const lgk_ops *ops, int64_t rows, int64_t cols, const float *m, int64_t ldm,
                                      void *out, int64_t ldo) {
  ops->bf16_pack_rows(rows, cols, m, ldm, out, ldo);
}

/// The `row_pairs` form of the rows × cols block m (ld ldm) into out (ld ldo words): rows 2t and
/// 2t + 1 paired, rows rounded up to even with a zero row.
static inline void lgk_bf16_pack_row_pairs(const lgk_ops *ops, int64_t rows, int64_t cols, const float *m,
                                           int64_t ldm, void *out, int64_t ldo) {
  ops->bf16_pack_row_pairs(rows, cols, m, ldm, out, ldo);
}

#endif
