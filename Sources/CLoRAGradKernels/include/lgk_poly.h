// The polynomial method (SPEC §3): exp(q̂·k̃) ≈ φ_b(q̂)·ψ(k̃) with k̃ = k̂ − μ the centred keys,
// ψ the plain monomials of k̃/ρ_k and φ_b the weighted monomials of q̂/ρ_q,b (weights
// c_t R_bᵗ t!/a! of the degree block b needs), so that with P̃ = diag(den)⁻¹ Φ Ψᵀ every term of
// the gradient is a chain of thin factors:
//   key sums    KS = Σ_j ψ_j ⊗ [1 | V_j | k̃_j | V_j1 k̃_j | … | V_jh k̃_j]     (rank × key_width)
//   query sums  QS = Σ_i φ_i ⊗ [dO_i | δ_i q̂_i | dO_i1 q̂_i | … | dO_ih q̂_i] / den_i
//   O_i = Φ_i·KS[V] / den_i,  den_i = Φ_i·KS[1],  dq̂_i = (Σ_a dO_ia Φ_i·KS[V_a k̃] − δ_i Φ_i·KS[k̃]) / den_i
//   dV_j = Ψ_j·QS[dO],  dk̂_j = Σ_a V_ja Ψ_j·QS[dO_a q̂] − Ψ_j·QS[δ q̂]
// Sums are kept per chunk of row blocks and combined by a scan phase in chunk order, so results
// do not depend on the thread count. Causal (SPEC §3.5): the pairs (i, j) with i and j in the
// same chunk are computed exactly (exp of the same centred logits, masked j ≤ i), all others
// through the low-rank sums of the chunks before (keys) or after (queries): each entry of P̃ is
// exact or within the polynomial's relative error.

#ifndef LGK_POLY_H
#define LGK_POLY_H

#include <stdint.h>
#include "lgk_isa.h"
#include "lgk_phase.h"
#include "lgk_heads.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The tiling of the polynomial path for one batch.
typedef struct lgk_poly_geometry {
  int64_t row_block;          ///< b: rows per query or key block (each query block has its own degree).
  int64_t blocks;             ///< ceil(L / b) per pair.
  int64_t blocks_per_chunk;   ///< Row blocks per chunk.
  int64_t chunks;             ///< ceil(blocks / blocks_per_chunk) per pair.
  int64_t rank;               ///< Features of the largest degree, C(h + g, g).
  int64_t key_width;          ///< (h + 3)·head_stride: the key sums of the backward pass.
  int64_t forward_key_width;  ///< 2·head_stride: [1 | V], all the forward pass needs.
  int64_t query_width;        ///< (h + 2)·head_stride.
  int64_t bound_query_width;  ///< (h + 4)·head_stride: with the two payload blocks of the error bounds.
  /// The chunks this process computes, own_begin ..< own_end (all by default). Sequence
  /// parallelism gives each process a range: the tiles of the other chunks write zeros into
  /// their sums and leave the rows of their outputs and gradients (O, lse, dq̂, dk̂, dV and their
  /// bounds) untouched, so those buffers must come zeroed (never-touched pages cost nothing), and
  /// a sum over processes completes them.
  int64_t own_begin, own_end;
} lgk_poly_geometry;

/// Features per block of the feature dimension in the products Φ·KS and Ψ·QS: each block is
/// summed on its own and the blocks are added in order, so an entry carries at most
/// LGK_FEATURE_BLOCK + ⌈k / LGK_FEATURE_BLOCK⌉ roundings instead of k (the error bound's count).
#define LGK_FEATURE_BLOCK 64

/// The geometry for length L, head width h (stride hs), blocks of `row_block` rows, `rank`
/// features and at most `max_chunks` chunks per pair.
lgk_poly_geometry lgk_poly_geometry_make(int64_t length, int64_t head_width, int64_t head_stride,
                                         int64_t row_block, int64_t rank, int64_t max_chunks);

/// The plan the statistics imply: monomial table, norms and per-block degrees and weights.
typedef struct lgk_poly_plan {
  const int32_t *parent;         ///< Monomial m = monomial parent[m] × variable[m] (rank entries).
  const int32_t *variable;
  const float *key_mean;         ///< Per pair: μ (head_stride floats).
  const float *key_norm;         ///< Per pair: ρ_k = max_j ‖k̂_j − μ‖ over visible keys.
  const float *query_norm;       ///< Per pair and block: ρ_q,b = max_{i ∈ b} ‖q̂_i‖.
  const int32_t *block_rank;     ///< Per pair and block: the features its degree uses.
  const float *block_weights;    ///< Per pair and block: `rank` feature weights.
  const float *block_error;      ///< Per pair and block: E, the entrywise bound on P̃ (NULL: no error bounds).
  const float *value_max;        ///< Per pair: max_j |V_jc| over visible keys (head_stride floats).
  const float *centred_key_max;  ///< Per pair: max_j |k̃_jc| over visible keys (head_stride floats).
} lgk_poly_plan;

// MARK: - Statistics

/// μ, ρ_k, ρ_q per block, the entry bounds [max|q̂|, max|k̂ − μ|, max|k̂|] per pair (norms
/// computed in Float64 and rounded up to Float32), and per column max_j |V_jc| and max_j |k̃_jc|.
typedef struct lgk_poly_statistics_params {
  lgk_heads heads;
  int64_t row_block;
  float *key_mean;          ///< Per pair, head_stride floats.
  float *key_norm;          ///< Per pair.
  float *query_norm;        ///< Per pair and block.
  float *entry_bounds;      ///< Per pair, 3 floats.
  float *value_max;         ///< Per pair, head_stride floats.
  float *centred_key_max;   ///< Per pair, head_stride floats.
} lgk_poly_statistics_params;

/// Tiles: pairs.
lgk_phase lgk_poly_statistics_phase(const lgk_poly_statistics_params *params);

// MARK: - Key sums and scans

/// Each chunk's key sums Σ_j ψ_j ⊗ payload_j over its visible keys (the first `width` columns
/// of the payload: geometry.forward_key_width or geometry.key_width): each block's product in
/// Float32, the blocks of a chunk added in Float64, the chunk total rounded once.
typedef struct lgk_poly_key_sums_params {
  const lgk_ops *ops;
  lgk_heads heads;
  lgk_poly_geometry geometry;
  lgk_poly_plan plan;
  int64_t width;
  float *sums;              ///< Per pair and chunk: rank × width.
} lgk_poly_key_sums_params;

/// Tiles: (pair, chunk).
lgk_phase lgk_poly_key_sums_phase(const lgk_poly_key_sums_params *params);

/// How a scan combines the chunk sums of each pair, in place, in chunk order (running sums in
/// Float64, each result rounded once).
typedef enum lgk_scan_mode {
  lgk_scan_total = 0,       ///< chunk 0 ← Σ_c sums_c (the other chunks are left as they were).
  lgk_scan_prefix = 1,      ///< chunk c ← Σ_{c' < c} sums_c' (exclusive, carried forwards).
  lgk_scan_suffix = 2,      ///< chunk c ← Σ_{c' > c} sums_c' (exclusive, carried backwards).
} lgk_scan_mode;

typedef struct lgk_poly_scan_params {
  int64_t pairs, chunks, rank, width;
  lgk_scan_mode mode;
  float *sums;              ///< Per pair and chunk: rank × width.
} lgk_poly_scan_params;

/// Tiles: (pair, slab of 16 feature rows).
lgk_phase lgk_poly_scan_phase(const lgk_poly_scan_params *params);

// MARK: - Queries

/// The query side. Forward: O and lse_i = log den_i + q̂_i·μ. Backward (d_o given): O and δ
/// recomputed from the same P̃, dq̂, each chunk's query sums, and (causal) the exact in-chunk
/// part of dk̂ and dV.
typedef struct lgk_poly_query_params {
  const lgk_ops *ops;
  lgk_heads heads;
  lgk_poly_geometry geometry;
  lgk_poly_plan plan;
  const float *key_sums;    ///< After the scan: the total in chunk 0, or the prefix per chunk (causal).
  int64_t key_width;        ///< Columns of key_sums.
  int64_t query_width;      ///< Backward: columns of query_sums (query_width, or bound_query_width with bounds).
  float *o;                 ///< Forward: O, head-major.
  float *lse;               ///< Forward: per pair and row.
  const float *d_o;         ///< Backward: dO, head-major.
  float *d_q;               ///< Backward: dq̂, head-major.
  float *d_k, *d_v;         ///< Backward, causal: the in-chunk part of dk̂ and dV (rows of the chunk).
  float *query_sums;        ///< Backward: per pair and chunk, rank × query_width.
  float *d_q_bound;         ///< Backward with plan.block_error: a bound on |dq̂ − dq̂_exact|, head-major.
  float *d_k_bound, *d_v_bound;  ///< Backward with bounds, causal: their in-chunk part.
} lgk_poly_query_params;

/// Tiles: (pair, chunk).
lgk_phase lgk_poly_query_forward_phase(const lgk_poly_query_params *params);
/// Tiles: (pair, chunk).
lgk_phase lgk_poly_query_backward_phase(const lgk_poly_query_params *params);

// MARK: - Keys

/// dV_j and dk̂_j through the query sums (the total; causal: the suffix of the key's chunk,
/// added to the in-chunk part already there).
typedef struct lgk_poly_key_backward_params {
  const lgk_ops *ops;
  lgk_heads heads;
  lgk_poly_geometry geometry;
  lgk_poly_plan plan;
  const float *query_sums;
  int64_t query_width;      ///< Columns of query_sums.
  float *d_k, *d_v;
  float *d_k_bound, *d_v_bound;  ///< With bounds: bounds on |dk̂ − dk̂_exact| and |dV − dV_exact|.
} lgk_poly_key_backward_params;

/// Tiles: (pair, key block).
lgk_phase lgk_poly_key_backward_phase(const lgk_poly_key_backward_params *params);

// MARK: - Features (also for the a-posteriori check)

/// The monomial features of `rows` points, feature-major: out[m·ldo + r] = weight_m · x_r^{a(m)}
/// for m < count, where x_t holds the points transposed (coordinate v of point r at
/// x_t[v·ldx + r]); monomial 0 is 1; weight may be NULL (all 1).
void lgk_monomial_features(const lgk_ops *ops, int64_t rows, const float *x_t, int64_t ldx,
                           int64_t count, const int32_t *parent, const int32_t *variable,
                           const float *weight, float *out, int64_t ldo);

#ifdef __cplusplus
}
#endif

#endif
