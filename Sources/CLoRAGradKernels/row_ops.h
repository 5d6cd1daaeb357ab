// Row primitives of the softmax kernels, one table per instruction set. The drivers in
// softmax.c are portable and call through the table of the active instruction set.

#ifndef LGK_ROW_OPS_H
#define LGK_ROW_OPS_H

#include <stdint.h>

typedef struct lgk_row_ops {
  /// max_{j < valid} s_j (−∞ when valid = 0).
  float (*max)(int64_t valid, const float *s);
  /// s_j ← exp(s_j − shift) for j < valid, 0 for valid ≤ j < n; returns Σ_j s_j.
  float (*exp_shifted)(int64_t n, int64_t valid, float *s, float shift);
  /// dp_j ← p_j·(dp_j − delta) for j < n.
  void (*softmax_backward)(int64_t n, const float *p, float *dp, float delta);
  /// o_j ← factor·o_j for j < n.
  void (*scale)(int64_t n, float *o, float factor);
  /// y_j ← exp(x_j) for j < n.
  void (*exp)(int64_t n, const float *x, float *y);
} lgk_row_ops;

extern const lgk_row_ops lgk_row_ops_portable;
#if defined(__x86_64__) || defined(__i386__)
extern const lgk_row_ops lgk_row_ops_avx2;
extern const lgk_row_ops lgk_row_ops_avx512;
#endif

/// The table for the active instruction set.
const lgk_row_ops *lgk_row_ops_active(void);

#endif
