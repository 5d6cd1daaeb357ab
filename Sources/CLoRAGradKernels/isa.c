// Runtime CPU detection and the operations tables: the widest instruction set the CPU supports
// is found once (an idempotent, race-free cache of a pure function); which table a computation
// uses is the caller's choice, passed in its parameter structs.

#include "ops.h"

#define LGK_TABLE(ISA, S, BF16)                                                                \
  const lgk_ops lgk_ops_##S = {ISA,                                                            \
                               lgk_sgemm_##S,                                                  \
                               lgk_row_max_##S,                                                \
                               lgk_row_exp_shifted_##S,                                        \
                               lgk_row_exp_shifted_bf16_##S,                                   \
                               lgk_row_softmax_backward_##S,                                   \
                               lgk_row_softmax_backward_bf16_##S,                              \
                               lgk_row_scale_##S,                                              \
                               lgk_exp_##S,                                                    \
                               lgk_exp_bf16_##S,                                               \
                               lgk_features_##S,                                               \
                               lgk_weigh_##S,                                                  \
                               BF16,                                                           \
                               lgk_bf16_pack_rows_##S,                                         \
                               lgk_bf16_pack_row_pairs_##S,                                    \
                               NULL,                                                           \
                               NULL};

LGK_TABLE(lgk_isa_portable, portable, NULL)
#if LGK_X86
LGK_TABLE(lgk_isa_avx2_fma, avx2, NULL)
LGK_TABLE(lgk_isa_avx512f, avx512, NULL)
// The fp32 operations of avx512f (the same bits), plus the bf16 dot product.
const lgk_ops lgk_ops_avx512bf16 = {lgk_isa_avx512bf16,         lgk_sgemm_avx512,
                                    lgk_row_max_avx512,         lgk_row_exp_shifted_avx512,
                                    lgk_row_exp_shifted_bf16_avx512,
                                    lgk_row_softmax_backward_avx512, lgk_row_softmax_backward_bf16_avx512,
                                    lgk_row_scale_avx512,
                                    lgk_exp_avx512,             lgk_exp_bf16_avx512,
                                    lgk_features_avx512,
                                    lgk_weigh_avx512,           lgk_bf16_gemm_avx512bf16,
                                    lgk_bf16_pack_rows_avx512bf16, lgk_bf16_pack_row_pairs_avx512bf16,
                                    lgk_bf16_row_exp_shifted_avx512bf16, lgk_bf16_softmax_backward_avx512bf16};
#endif

static lgk_isa detect(void) {
#if LGK_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16") &&
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return lgk_isa_avx512bf16;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return lgk_isa_avx512f;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return lgk_isa_avx2_fma;
#endif
  return lgk_isa_portable;
}

lgk_isa lgk_isa_detected(void) {
  static int cached = -1;
  int isa = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (isa < 0) {
    isa = (int)detect();
    __atomic_store_n(&cached, isa, __ATOMIC_RELAXED);
  }
  return (lgk_isa)isa;
}

const char *lgk_isa_name(lgk_isa isa) {
  switch (isa) {
    case lgk_isa_avx512bf16: return "avx512f+bf16";
    case lgk_isa_avx512f: return "avx512f";
    case lgk_isa_avx2_fma: return "avx2+fma";
    default: return "portable";
  }
}

const lgk_ops *lgk_ops_for(lgk_isa isa) {
  lgk_isa usable = isa > lgk_isa_detected() ? lgk_isa_detected() : isa;
#if LGK_X86
  if (usable == lgk_isa_avx512bf16) return &lgk_ops_avx512bf16;
  if (usable == lgk_isa_avx512f) return &lgk_ops_avx512;
  if (usable == lgk_isa_avx2_fma) return &lgk_ops_avx2;
#endif
  return &lgk_ops_portable;
}

lgk_isa lgk_ops_isa(const lgk_ops *ops) { return ops->isa; }

void lgk_sgemm(const lgk_ops *ops, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
               int64_t rsa, int64_t csa, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc) {
  ops->sgemm(m, n, k, alpha, a, rsa, csa, b, ldb, beta, c, ldc);
}

int lgk_ops_bf16_native(const lgk_ops *ops) { return ops->bf16_gemm != NULL; }

void lgk_bf16_gemm(const lgk_ops *ops, int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa,
                   int64_t csa, const void *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  const int64_t pairs = (k + 1) / 2;
  if (ops->bf16_gemm)
    ops->bf16_gemm(m, n, pairs, (const uint32_t *)a, rsa, csa, (const uint32_t *)b, ldb, beta, c, ldc);
  else
    ops->sgemm(m, n, 2 * pairs, 1.0f, (const float *)a, rsa, csa, (const float *)b, ldb, beta, c, ldc);
}

void lgk_exp(const lgk_ops *ops, int64_t n, const float *x, float *y) { ops->exp(n, x, y); }

void lgk_exp_bf16(const lgk_ops *ops, int64_t n, const float *x, float *y) { ops->exp_bf16(n, x, y); }

int64_t lgk_claim_tile(int64_t *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

void lgk_run_claimed_tiles(const lgk_phase *phase, int64_t *counter, float *scratch) {
  for (int64_t t = lgk_claim_tile(counter); t < phase->tiles; t = lgk_claim_tile(counter))
    phase->tile(phase->params, t, scratch);
}
