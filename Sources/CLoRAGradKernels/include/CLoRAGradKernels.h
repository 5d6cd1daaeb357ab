// CLoRAGradKernels: the hot loops of LoRAGrad, in plain C.
//
// Every exported symbol starts with `lgk_` so that nothing collides with system headers and so
// that `perf report` groups the kernels under one readable prefix. The kernels are
// single-threaded: parallelism is a partition of tile indices decided by the caller (the
// Dispatch backend in Swift, or the OpenMP loops of CLoRAGradOpenMP), never spawned in here.
// SIMD comes from function target attributes chosen at run time, so the target needs no
// unsafe compiler flags and the LoRAGrad product stays usable as a versioned dependency.

#ifndef CLORAGRADKERNELS_H
#define CLORAGRADKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Runtime CPU dispatch

/// The instruction set the kernels use on this machine.
typedef enum lgk_isa {
  lgk_isa_portable = 0,  ///< Plain C, vectorised only by the compiler's baseline (SSE2 on x86-64).
  lgk_isa_avx2_fma = 1,  ///< 256-bit AVX2 with fused multiply-add.
  lgk_isa_avx512f = 2,   ///< 512-bit AVX-512 Foundation.
} lgk_isa;

/// The widest instruction set supported by both the CPU and the build (decided once).
lgk_isa lgk_isa_detected(void);
/// The instruction set the kernels use now (the detected one unless overridden).
lgk_isa lgk_isa_active(void);
/// Use `isa` (clamped to the detected one) from now on; returns the set actually used.
/// Meant for tests and benchmarks that compare kernels; not thread-safe against running kernels.
lgk_isa lgk_isa_override(lgk_isa isa);
/// A short name of the instruction set ("portable", "avx2+fma", "avx512f").
const char *lgk_isa_name(lgk_isa isa);

// MARK: - Tiles

/// A tile function: does the work of tile number `tile` of the problem behind `context`.
/// Tiles of one phase write disjoint outputs, so they may run in any order on any thread.
typedef void (*lgk_tile_fn)(const void *context, int64_t tile);

/// Claims the next tile index from a shared counter (relaxed atomic fetch-and-add).
int64_t lgk_claim_tile(int64_t *counter);

// MARK: - Micro-kernels

/// C (m×n) = alpha·A·B + beta·C, with A addressed A[i·rsa + p·csa] (so Aᵀ is just swapped
/// strides), B row-major k×n with row stride ldb, C row-major with row stride ldc; beta ∈ {0, 1}.
void lgk_sgemm(int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t rsa, int64_t csa,
               const float *b, int64_t ldb,
               float beta, float *c, int64_t ldc);

/// One step of the online softmax over a block of scores S (m×n, row stride lds, the first
/// `valid` columns real): m_i ← max(m_i, max_j S_ij), P_ij = exp(S_ij − m_i) written over S
/// (0 for masked columns), l_i ← l_i·exp(m_i,old − m_i) + Σ_j P_ij, and the output rows O_i
/// (width `width`, row stride ldo) rescaled by exp(m_i,old − m_i).
void lgk_softmax_online_step(int64_t m, int64_t n, int64_t valid, float *s, int64_t lds,
                             float *row_max, float *row_sum, float *o, int64_t width, int64_t ldo);

/// Recomputes probabilities from saved log-sum-exps: P_ij = exp(S_ij − lse_i) over S in place,
/// 0 for columns j ≥ valid.
void lgk_softmax_recompute(int64_t m, int64_t n, int64_t valid, float *s, int64_t lds,
                           const float *lse);

/// The softmax backward step dS = P ∘ (dP − δ): overwrites dp (m×n, row stride ld) with
/// P_ij·(dP_ij − δ_i).
void lgk_softmax_backward(int64_t m, int64_t n, const float *p, float *dp, int64_t ld,
                          const float *delta);

/// y_i = exp(x_i) for n values, vectorised (range reduction plus a degree-6 polynomial);
/// relative error within a few fp32 ulps for x in [−87, 88], 0 below.
void lgk_exp(int64_t n, const float *x, float *y);

// MARK: - Exact attention (flash-style) tiles

/// The exact attention problem in head-major, padded layout; all buffers are owned by the caller.
/// A head-major buffer holds, for each of the N·H (sequence, head) pairs, `padded_length` rows
/// of `head_stride` floats (the head width h zero-padded to a multiple of 16); rows ≥ L are zero.
typedef struct lgk_flash_problem {
  int64_t pairs;          ///< N·H, the number of (sequence, head) pairs.
  int64_t length;         ///< L, the sequence length.
  int64_t padded_length;  ///< L rounded up to a multiple of the key block.
  int64_t head_stride;    ///< h rounded up to a multiple of 16.
  int64_t query_block;    ///< Rows of a query block (B_r).
  int64_t key_block;      ///< Rows of a key block (B_c).
  int64_t key_groups;     ///< Key blocks are cut into this many groups, one backward tile each.
  float scale;            ///< β, the softmax temperature (already folded into q).
  const float *q;         ///< β·Q, head-major.
  const float *k;         ///< K, head-major.
  const float *k_t;       ///< Kᵀ: per pair, head_stride rows of padded_length floats.
  const float *v;         ///< V, head-major.
  const float *v_t;       ///< Vᵀ, like k_t.
  const float *y;         ///< The targets Y, head-major.
  float *lse;             ///< Per pair and row: the log-sum-exp of β q_i·k_j over j.
  float *delta;           ///< Per pair and row: δ_i = ⟨dO_i, O_i⟩.
  float *d_o;             ///< dO = O − Y, head-major.
  double *loss_partials;  ///< One ½‖dO‖² per forward tile.
  float *d_q_partials;    ///< Per pair and key group: Σ_j dS_ij k_j over the group, head-major.
  float *d_q;             ///< dQ = β·dS K, head-major: the partials summed in group order.
  float *d_k;             ///< dK = β·dSᵀ Q, head-major.
  float *d_v;             ///< dV = Pᵀ dO, head-major.
} lgk_flash_problem;

/// The number of query blocks of one pair.
int64_t lgk_flash_query_blocks(const lgk_flash_problem *problem);
/// The number of key blocks in each backward group (the last group may hold fewer).
int64_t lgk_flash_blocks_per_group(const lgk_flash_problem *problem);

/// Forward tile (pair, query block): online softmax over all key blocks, then O, lse, dO, δ
/// and the tile's share of the loss. Tiles: pairs × query blocks.
void lgk_flash_forward_tile(const void *problem, int64_t tile);

/// Backward tile (pair, key group): for each key block of the group, sweeps all query blocks,
/// recomputes P from lse, accumulates dV and dK of the block and the group's share of dQ.
/// Tiles: pairs × key groups.
void lgk_flash_backward_tile(const void *problem, int64_t tile);

/// dQ reduction tile (pair, query block): dQ = β·Σ_g partial_g over the key groups in order.
/// Tiles: pairs × query blocks.
void lgk_flash_reduce_dq_tile(const void *problem, int64_t tile);

// MARK: - Projections and adapter gradients

/// The dense projections of one batch into head-major buffers, and the targets alongside.
typedef struct lgk_projection_problem {
  int64_t sequences;       ///< N.
  int64_t length;          ///< L.
  int64_t width;           ///< D.
  int64_t heads;           ///< H.
  int64_t head_width;      ///< h = D / H.
  int64_t head_stride;     ///< h rounded up to a multiple of 16.
  int64_t padded_length;   ///< Rows per pair in the head-major buffers.
  int64_t row_block;       ///< Rows of X per tile.
  float query_scale;       ///< β, folded into the stored Q.
  const float *x;          ///< X, [N, L, D].
  const float *y;          ///< Y, [N, L, D].
  const float *w_t[3];     ///< W_qᵀ, W_kᵀ, W_vᵀ, each [D, D] ([in, out]).
  float *q, *k, *k_t, *v, *v_t, *y_heads;  ///< Head-major outputs (see lgk_flash_problem).
} lgk_projection_problem;

/// Projection tile (sequence, row block): Q, K, V = X Wᵀ for the rows, scattered per head.
/// Tiles: N × ceil(L / row_block).
void lgk_projection_tile(const void *problem, int64_t tile);

/// The adapter gradients ∂/∂A = s·(dμ B)ᵀ X and ∂/∂B = s·dμᵀ (X Aᵀ), one partial per row block.
typedef struct lgk_adapter_problem {
  int64_t sequences, length, width, heads, head_width, head_stride, padded_length;
  int64_t rank;            ///< r.
  int64_t rank_stride;     ///< r rounded up to a multiple of 16: the row stride of A_μᵀ and B_μ.
  int64_t row_block;       ///< Rows of the flattened N·L rows per tile.
  int64_t adapted;         ///< How many entries of the arrays below are used (1 to 3).
  float scale;             ///< s = α / r.
  const float *x;          ///< X, [N·L, D].
  const float *d_heads[3]; ///< dμ per adapted projection, head-major.
  const float *a_t[3];     ///< A_μᵀ, [D, r], zero-padded to rank_stride columns.
  const float *b[3];       ///< B_μ, [D, r], zero-padded to rank_stride columns.
  float *partials;         ///< Per tile and adapted μ: r·D floats of ∂A then D·r of ∂B.
} lgk_adapter_problem;

/// Adapter-gradient tile (row block of the N·L rows): the block's partial ∂A_μ and ∂B_μ.
/// Tiles: ceil(N·L / row_block).
void lgk_adapter_gradient_tile(const void *problem, int64_t tile);


// MARK: - The polynomial method (almost-linear attention gradients)

/// The monomial features of `rows` points: out[m·ldo + r] = weight_m · x_r^{a(m)} for m < count,
/// where x_t holds the points transposed (coordinate v of point r at x_t[v·ldx + r]), monomial 0
/// is 1 and monomial m = monomial parent[m] times coordinate variable[m]; weight may be NULL (1).
void lgk_monomial_features(int64_t rows, const float *x_t, int64_t ldx, int64_t count,
                           const int32_t *parent, const int32_t *variable, const float *weight,
                           float *out, int64_t ldo);

/// The polynomial-method problem in the head-major layout (see lgk_flash_problem). With
/// ψ(k) the plain monomials of the normalised centred keys and φ_b(q) the weighted monomials of
/// the normalised queries of block b, exp(β q·k) ≈ φ_b(q)·ψ(k) up to a factor 1 ± ε, and
///   key sums    KS = Σ_j ψ(k_j) ⊗ [e₀ | V_j | K̃_j | V_j1 K̃_j | … | V_jh K̃_j]   (rank × nK)
///   query sums  QS = Σ_i φ(q_i) ⊗ [dO_i | δ_i βQ_i | dO_i1 βQ_i | … | dO_ih βQ_i] / den_i
/// carry every term of the gradient as a chain of low-rank factors; each block is head_stride
/// floats wide, so nK = (h + 3)·head_stride and nQ = (h + 2)·head_stride.
typedef struct lgk_poly_problem {
  int64_t pairs;           ///< N·H.
  int64_t length;          ///< L.
  int64_t padded_length;   ///< Rows per pair in the head-major buffers (a multiple of row_block).
  int64_t head_width;      ///< h.
  int64_t head_stride;     ///< h rounded up to a multiple of 16.
  int64_t row_block;       ///< Rows per block, for queries and keys alike.
  int64_t chunks;          ///< Row-block chunks per pair: the partial sums reduced in order.
  int64_t rank;            ///< The number of features k = C(h + g, g) of the largest degree g.
  float beta;              ///< β.
  const int32_t *parent;   ///< The monomial table (rank entries), see lgk_monomial_features.
  const int32_t *variable; ///< The monomial table's variables.
  float *key_mean;         ///< Per pair: μ = mean_j K_j (head_stride floats).
  float *key_norm;         ///< Per pair: ρ_k = max_j ‖√β (K_j − μ)‖.
  float *key_max_entry;    ///< Per pair: max |√β (K_j − μ)|, the paper's Γ for keys.
  float *query_norm;       ///< Per pair and query block: ρ_q = max_i ‖√β Q_i‖ over the block.
  float *query_max_entry;  ///< Per pair: max |√β Q_i|, the paper's Γ for queries.
  const int32_t *block_rank;    ///< Per pair and query block: the features its degree uses.
  const float *block_weights;   ///< Per pair and query block: rank weights c_t R_bᵗ (t!/a!).
  const float *q;          ///< βQ, head-major.
  const float *k;          ///< K, head-major.
  const float *k_t;        ///< Kᵀ (see lgk_flash_problem).
  const float *v;          ///< V, head-major.
  const float *y;          ///< Y, head-major.
  float *key_sums;         ///< Per pair and chunk: rank × nK partial key sums (chunk 0: total).
  float *query_sums;       ///< Per pair and chunk: rank × nQ partial query sums (chunk 0: total).
  double *loss_partials;   ///< Per pair and chunk: ½‖O − Y‖² over the chunk's rows.
  float *out;              ///< O = P̃ V, head-major.
  float *d_q;              ///< dQ, head-major.
  float *d_k;              ///< dK, head-major.
  float *d_v;              ///< dV, head-major.
} lgk_poly_problem;

/// The number of row blocks of one pair.
int64_t lgk_poly_row_blocks(const lgk_poly_problem *problem);

/// Statistics tile (pair): μ, ρ_k, max |entry| of the centred keys and of the queries, and ρ_q
/// per query block. Tiles: pairs.
void lgk_poly_statistics_tile(const void *problem, int64_t tile);

/// Key-sum tile (pair, chunk): adds ψ(k_j) ⊗ key payload over the chunk's key blocks into the
/// chunk's partial key sums. Tiles: pairs × chunks.
void lgk_poly_key_sums_tile(const void *problem, int64_t tile);

/// Reduction tile (pair, slab of 16 feature rows): key sums of every chunk added in chunk order
/// into chunk 0. Tiles: pairs × ceil(rank / 16).
void lgk_poly_reduce_key_sums_tile(const void *problem, int64_t tile);

/// Query tile (pair, chunk): for each query block of the chunk, O, dO, δ, the loss, dQ through the
/// key sums, and the chunk's partial query sums. Tiles: pairs × chunks.
void lgk_poly_query_tile(const void *problem, int64_t tile);

/// Reduction tile for the query sums, like lgk_poly_reduce_key_sums_tile.
void lgk_poly_reduce_query_sums_tile(const void *problem, int64_t tile);

/// Key backward tile (pair, key block): dV and dK of the block through the query sums.
/// Tiles: pairs × row blocks.
void lgk_poly_key_backward_tile(const void *problem, int64_t tile);

#ifdef __cplusplus
}
#endif

#endif
