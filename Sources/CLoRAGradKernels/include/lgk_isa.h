// Instruction sets and the operations table: the one dispatch idiom of the kernels.
//
// Every instruction-set-specific function (the GEMM micro-kernels, the row primitives of the
// softmax, the monomial features) is reached through a `const lgk_ops *` taken from the
// parameter struct of the phase being run; the table is chosen by the caller per call, from
// what the CPU supports, so no kernel reads process-global state to decide.

#ifndef LGK_ISA_H
#define LGK_ISA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction sets the kernels are written for, narrowest first.
typedef enum lgk_isa {
  lgk_isa_portable = 0,  ///< Plain C, vectorised only by the compiler's baseline (SSE2 on x86-64).
  lgk_isa_avx2_fma = 1,  ///< 256-bit AVX2 with fused multiply-add.
  lgk_isa_avx512f = 2,   ///< 512-bit AVX-512 Foundation.
  lgk_isa_avx512bf16 = 3,  ///< AVX-512 with the BF16 dot product (vdpbf16ps); fp32 as avx512f.
} lgk_isa;

/// The operations of one instruction set (opaque to Swift; see ops.h).
typedef struct lgk_ops lgk_ops;

/// The widest instruction set supported by both the CPU and the build.
lgk_isa lgk_isa_detected(void);
/// A short name of the instruction set ("portable", "avx2+fma", "avx512f", "avx512f+bf16").
const char *lgk_isa_name(lgk_isa isa);
/// The operations table of `isa` (clamped to the detected set: never one the CPU cannot run).
const lgk_ops *lgk_ops_for(lgk_isa isa);
/// The instruction set a table belongs to.
lgk_isa lgk_ops_isa(const lgk_ops *ops);

/// C (m×n) = alpha·A·B + beta·C with the table's micro-kernels: A addressed A[i·rsa + p·csa]
/// (so Aᵀ is just swapped strides), B row-major k×n with row stride ldb, C row-major with row
/// stride ldc; beta ∈ {0, 1}. For benchmarks that measure the machine's SGEMM roof.
void lgk_sgemm(const lgk_ops *ops, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t rsa, int64_t csa, const float *b, int64_t ldb,
               float beta, float *c, int64_t ldc);

/// C (m×n) = A·B + beta·C for operands in the packed bf16 form of `ops` (lgk_exact.h): k the
/// inner dimension in elements (odd: one zero pads it), a addressed by 4-byte words
/// a[i·rsa + w·csa], b row-major in words with row stride ldb, beta ∈ {0, 1}. With vdpbf16ps where
/// the table has it, else the fp32 kernels on bf16 values: the same bits either way.
void lgk_bf16_gemm(const lgk_ops *ops, int64_t m, int64_t n, int64_t k, const void *a, int64_t rsa,
                   int64_t csa, const void *b, int64_t ldb, float beta, float *c, int64_t ldc);

/// Whether the table multiplies bf16 pairs natively (vdpbf16ps): its packed form holds two bf16
/// per word; otherwise one bf16 value per float, the two of a pair swapped (see lgk_exact.h).
int lgk_ops_bf16_native(const lgk_ops *ops);

/// y_i = exp(x_i) for n values with the table's vectorised exp (range reduction and a degree-7
/// polynomial, within a few fp32 ulps on [−87, 88], 0 below).
void lgk_exp(const lgk_ops *ops, int64_t n, const float *x, float *y);

/// y_i = exp(x_i) with the exp of the bf16 tiles, whose P is rounded to bf16 (u_b = 2⁻⁸): one ln2
/// and a degree-4 polynomial, within 2⁻¹⁷ relative on [−64, 64] (every Float32 there,
/// `loragrad-bench exp`).
void lgk_exp_bf16(const lgk_ops *ops, int64_t n, const float *x, float *y);

/// The exact path's blocking for one instruction set, as data (as BLIS keeps a configuration per
/// class; blocking.c): the query block B_r, and the key block B_c as a budget of bytes per k̂ᵀ key
/// panel (B_c·h elements of 4 bytes, or 2 for natively paired bf16), so that narrow heads and
/// bf16 operands get long key blocks, clamped to [key_block_min, key_block_max]. The register
/// blocking of the micro-kernels is in their sources.
typedef struct lgk_blocking {
  int64_t query_block;      ///< B_r, a multiple of 16.
  int64_t key_panel_bytes;  ///< B_c·h·(bytes per element) the key block aims at (one k̂ᵀ panel).
  int64_t key_block_min;    ///< The shortest key block, a multiple of 16.
  int64_t key_block_max;    ///< The longest key block, a multiple of 16.
} lgk_blocking;

/// The blocking table's entry for `isa`.
lgk_blocking lgk_blocking_for(lgk_isa isa);
/// B_c for head width h and operands of `element_bytes` (4: Float32 or bf16 held one per float;
/// 2: bf16 pairs) under `blocking`: key_panel_bytes / (h·element_bytes) rounded down to a multiple
/// of 16, clamped to [key_block_min, key_block_max].
int64_t lgk_blocking_key_block(lgk_blocking blocking, int64_t head_width, int64_t element_bytes);

#ifdef __cplusplus
}
#endif

#endif
