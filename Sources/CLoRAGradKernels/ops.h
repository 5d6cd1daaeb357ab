// The operations table behind `lgk_ops` (lgk_isa.h): every instruction-set-specific function,
// one table per instruction set. Drivers are written once over a table.

#ifndef LGK_OPS_H
#define LGK_OPS_H

#include <stdint.h>
#include "internal.h"

struct lgk_ops {
  lgk_isa isa;
  /// C = alpha·A·B + beta·C (see lgk_sgemm).
  void (*sgemm)(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa,
                int64_t csa, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
  /// max_{j < valid} s_j (−∞ when valid = 0).
  float (*row_max)(int64_t valid, const float *s);
  /// s_j ← exp(s_j − shift) for j < valid, 0 for valid ≤ j < n; returns Σ_j s_j.
  float (*row_exp_shifted)(int64_t n, int64_t valid, float *s, float shift);
  /// The same with the bf16 tiles' exp (within 2⁻¹⁷ relative on [−64, 64]; row_ops_template.h).
  float (*row_exp_shifted_bf16)(int64_t n, int64_t valid, float *s, float shift);
  /// From scores s and dp = dO Vᵀ of a row: s_j ← P_j = exp(s_j − lse) for j < valid, 0 for
  /// valid ≤ j < n (row_exp_shifted), and dp_j ← P_j·(dp_j − delta) for j < n.
  void (*row_softmax_backward)(int64_t n, int64_t valid, float *s, float *dp, float lse, float delta);
  /// The same with the bf16 tiles' exp.
  void (*row_softmax_backward_bf16)(int64_t n, int64_t valid, float *s, float *dp, float lse, float delta);
  /// o_j ← factor·o_j for j < n.
  void (*row_scale)(int64_t n, float *o, float factor);
  /// y_j ← exp(x_j) for j < n.
  void (*exp)(int64_t n, const float *x, float *y);
  /// y_j ← exp(x_j) with the bf16 tiles' exp, for j < n.
  void (*exp_bf16)(int64_t n, const float *x, float *y);
  /// Monomial features, unweighted (see lgk_monomial_features).
  void (*features)(int64_t rows, const float *x_t, int64_t ldx, int64_t count,
                   const int32_t *parent, const int32_t *variable, float *out, int64_t ldo);
  /// out[m·ldo + r] ← weight_m · out[m·ldo + r].
  void (*weigh)(int64_t rows, int64_t count, const float *weight, float *out, int64_t ldo);
  /// C = A·B + beta·C over words of bf16 pairs, k_pairs of them per dot product (vdpbf16ps);
  /// NULL where the instruction set has no bf16 dot product (the fp32 kernels stand in).
  void (*bf16_gemm)(int64_t m, int64_t n, int64_t k_pairs, const uint32_t *a, int64_t rsa, int64_t csa,
                    const uint32_t *b, int64_t ldb, float beta, float *c, int64_t ldc);
  /// The `rows` form of a rows × cols block (lgk_exact.h; native pairs when bf16_gemm is set).
  void (*bf16_pack_rows)(int64_t rows, int64_t cols, const float *m, int64_t ldm, void *out, int64_t ldo);
  /// The `row_pairs` form of a rows × cols block.
  void (*bf16_pack_row_pairs)(int64_t rows, int64_t cols, const float *m, int64_t ldm, void *out, int64_t ldo);
  /// For n a multiple of 16: returns Σ_{j < valid} exp(s_j − shift) with the bf16 tiles' exp and
  /// writes those values (0 for valid ≤ j < n) as a row of the native rows form; NULL where
  /// bf16_gemm is (row_exp_shifted_bf16 and bf16_pack_rows stand in).
  float (*bf16_row_exp_shifted)(int64_t n, int64_t valid, const float *s, float shift, uint16_t *p_row);
  /// For rows × cols (cols a multiple of 16) scores S and dP = dO Vᵀ (ld ld): P = exp(S_i − lse_i)
  /// with the bf16 tiles' exp where j < valid_i (else 0) and dS = P ∘ (dP − δ), written as P and dS
  /// in the native row_pairs form (ld cols words) and dS in the native rows form (ld cols/2 words);
  /// NULL where bf16_gemm is (the tile then runs the row primitives and the packs).
  void (*bf16_softmax_backward)(int64_t rows, int64_t cols, const int64_t *valid, const float *s, const float *dp,
                                int64_t ld, const float *lse, const float *delta, uint32_t *p_pairs,
                                uint32_t *ds_pairs, uint16_t *ds_rows);
};

extern const lgk_ops lgk_ops_portable;
#if LGK_X86
extern const lgk_ops lgk_ops_avx2;
extern const lgk_ops lgk_ops_avx512;
extern const lgk_ops lgk_ops_avx512bf16;
#endif

// The per-instruction-set pieces the tables are made of, named <operation>_<isa> so that
// `perf report` shows which variant ran.
#define LGK_DECLARE_ISA(S)                                                                      \
  void lgk_sgemm_##S(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, \
                     int64_t csa, const float *b, int64_t ldb, float beta, float *c,            \
                     int64_t ldc);                                                              \
  float lgk_row_max_##S(int64_t valid, const float *s);                                         \
  float lgk_row_exp_shifted_##S(int64_t n, int64_t valid, float *s, float shift);               \
  float lgk_row_exp_shifted_bf16_##S(int64_t n, int64_t valid, float *s, float shift);          \
  void lgk_row_softmax_backward_##S(int64_t n, int64_t valid, float *s, float *dp, float lse,   \
                                    float delta);                                               \
  void lgk_row_softmax_backward_bf16_##S(int64_t n, int64_t valid, float *s, float *dp,         \
                                         float lse, float delta);                               \
  void lgk_row_scale_##S(int64_t n, float *o, float factor);                                    \
  void lgk_exp_##S(int64_t n, const float *x, float *y);                                        \
  void lgk_exp_bf16_##S(int64_t n, const float *x, float *y);                                   \
  void lgk_features_##S(int64_t rows, const float *x_t, int64_t ldx, int64_t count,             \
                        const int32_t *parent, const int32_t *variable, float *out,             \
                        int64_t ldo);                                                           \
  void lgk_weigh_##S(int64_t rows, int64_t count, const float *weight, float *out, int64_t ldo);   \
  void lgk_bf16_pack_rows_##S(int64_t rows, int64_t cols, const float *m, int64_t ldm, void *out,  \
                              int64_t ldo);                                                      \
  void lgk_bf16_pack_row_pairs_##S(int64_t rows, int64_t cols, const float *m, int64_t ldm,        \
                                   void *out, int64_t ldo);

LGK_DECLARE_ISA(portable)
#if LGK_X86
LGK_DECLARE_ISA(avx2)
LGK_DECLARE_ISA(avx512)
#endif

/// The bf16 pair product in plain C (the meaning of the native kernel, and its column tail).
void lgk_bf16_gemm_portable(int64_t m, int64_t n, int64_t k_pairs, const uint32_t *a, int64_t rsa, int64_t csa,
                            const uint32_t *b, int64_t ldb, float beta, float *c, int64_t ldc);
#if LGK_X86
void lgk_bf16_pack_rows_avx512bf16(int64_t rows, int64_t cols, const float *m, int64_t ldm, void *out, int64_t ldo);
void lgk_bf16_pack_row_pairs_avx512bf16(int64_t rows, int64_t cols, const float *m, int64_t ldm, void *out,
                                        int64_t ldo);
void lgk_bf16_gemm_avx512bf16(int64_t m, int64_t n, int64_t k_pairs, const uint32_t *a, int64_t rsa, int64_t csa,
                              const uint32_t *b, int64_t ldb, float beta, float *c, int64_t ldc);
float lgk_bf16_row_exp_shifted_avx512bf16(int64_t n, int64_t valid, const float *s, float shift, uint16_t *p_row);
void lgk_bf16_softmax_backward_avx512bf16(int64_t rows, int64_t cols, const int64_t *valid, const float *s,
                                          const float *dp, int64_t ld, const float *lse, const float *delta,
                                          uint32_t *p_pairs, uint32_t *ds_pairs, uint16_t *ds_rows);
#endif

#endif
