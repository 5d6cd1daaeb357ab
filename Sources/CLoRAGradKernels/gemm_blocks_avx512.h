// The loops around the AVX-512 micro-kernels, written once for the Float32 product
// (sgemm_avx512.c) and the bf16 pair product (bf16_gemm_avx512.c), which share the register
// blocking: 64-column strips of C in 4 × 4-vector blocks, then 32 columns in 8 × 2, then 16 in
// 16 × 1, each with a one-row kernel for the rows left over; the columns beyond the last full
// vector go to the portable kernel.
//
// LGK_AVX512_BLOCKS(UKR, LEAD, m, n, a, rsa, csa, b, ldb, beta, c, ldc, TAIL) calls
// UKR##_<MR>x<NV>(LEAD..., a + i·rsa, rsa, csa, b + j, ldb, beta, c + i·ldc + j, ldc) for every
// block (LEAD a parenthesised list of the leading arguments, e.g. (k, alpha)), and TAIL(j) for the
// columns from j on when n is not a multiple of 16.

#ifndef LGK_GEMM_BLOCKS_AVX512_H
#define LGK_GEMM_BLOCKS_AVX512_H

#define LGK_UNPAREN(...) __VA_ARGS__

#define LGK_AVX512_STRIP(UKR, LEAD, WIDE, NARROW, ROWS, COLUMNS)                                          \
  for (; j + (COLUMNS) <= n_; j += (COLUMNS)) {                                                           \
    int64_t i = 0;                                                                                        \
    for (; i + (ROWS) <= m_; i += (ROWS))                                                                 \
      UKR##_##WIDE(LGK_UNPAREN LEAD, a_ + i * rsa_, rsa_, csa_, b_ + j, ldb_, beta_, c_ + i * ldc_ + j, ldc_); \
    for (; i < m_; i++)                                                                                   \
      UKR##_##NARROW(LGK_UNPAREN LEAD, a_ + i * rsa_, rsa_, csa_, b_ + j, ldb_, beta_, c_ + i * ldc_ + j, ldc_); \
  }

#define LGK_AVX512_BLOCKS(UKR, LEAD, m, n, a, rsa, csa, b, ldb, beta, c, ldc, TAIL)  \
  do {                                                                              \
    const int64_t m_ = (m), n_ = (n), rsa_ = (rsa), csa_ = (csa), ldb_ = (ldb), ldc_ = (ldc); \
    const float beta_ = (beta);                                                     \
    __typeof__(a) a_ = (a);                                                         \
    __typeof__(b) b_ = (b);                                                         \
    float *c_ = (c);                                                                \
    if (m_ <= 0 || n_ <= 0) break;                                                  \
    int64_t j = 0;                                                                  \
    LGK_AVX512_STRIP(UKR, LEAD, 4x4, 1x4, 4, 64)                                    \
    LGK_AVX512_STRIP(UKR, LEAD, 8x2, 1x2, 8, 32)                                    \
    LGK_AVX512_STRIP(UKR, LEAD, 16x1, 1x1, 16, 16)                                  \
    if (j < n_) TAIL(j);                                                            \
  } while (0)

#endif
