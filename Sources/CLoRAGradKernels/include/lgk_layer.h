// The first and last steps of the layer: the projections into the head view, the upstream
// gradient into head space, the output back to rows, and the projection backward (the adapter
// gradients and dX).

#ifndef LGK_LAYER_H
#define LGK_LAYER_H

#include <stdint.h>
#include "lgk_isa.h"
#include "lgk_phase.h"
#include "lgk_heads.h"

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Projection

/// Q, K, V = X W_μᵀ + b_μ, RoPE on Q and K, then √β on Q and K, into the head view.
typedef struct lgk_projection_params {
  const lgk_ops *ops;
  lgk_head_layout layout;
  int64_t width;            ///< D = H·h.
  float head_scale;         ///< √β, multiplying q and k after the bias and the rotation.
  double rope_theta;        ///< > 0: rotate q and k per head as Hugging Face Llama does; 0: none.
  const float *x;           ///< X, [N, L, D].
  const float *w_t[3];      ///< W_qᵀ, W_kᵀ, W_vᵀ (effective weights), each [D (in), D (out)].
  const float *bias[3];     ///< b_q, b_k, b_v, each [D], or NULL.
  float *q, *k, *k_t, *v, *v_t;  ///< The head view's buffers (see lgk_heads); k_t, v_t NULL: no transposes.
} lgk_projection_params;

/// Tiles: (sequence, block of 64 rows); each writes its rows (padding included) of every buffer.
lgk_phase lgk_projection_phase(const lgk_projection_params *params);

// MARK: - Rows and heads

/// The upstream gradient dZ scattered into head space, and δ_i = ⟨dZ_i, Z_i⟩ per head.
typedef struct lgk_upstream_params {
  lgk_head_layout layout;
  int64_t width;            ///< D.
  const float *dz;          ///< dZ, [N, L, D].
  const float *z;           ///< Z, [N, L, D], or NULL (no δ).
  float *d_o;               ///< dO = dZ per head, head-major.
  float *delta;             ///< Per pair and row: δ_i (when z is given).
} lgk_upstream_params;

/// Tiles: (sequence, block of 64 rows).
lgk_phase lgk_upstream_phase(const lgk_upstream_params *params);

/// A head-major buffer gathered back into rows: out[n, i, j·h + c] = heads[(n, j), i, c].
typedef struct lgk_gather_params {
  lgk_head_layout layout;
  int64_t width;            ///< D.
  const float *heads;       ///< Head-major.
  float *rows;              ///< [N, L, D].
} lgk_gather_params;

/// Tiles: (sequence, block of 64 rows).
lgk_phase lgk_gather_phase(const lgk_gather_params *params);

// MARK: - Projection backward

/// From the gradients with respect to the head view to
///   dX = dQ W_q + dK W_k + dV W_v,  ∂/∂A_μ = s·(dμ B_μ)ᵀ X,  ∂/∂B_μ = s·dμᵀ (X A_μᵀ),
/// with dQ = √β·R⁻¹dq̂ and dK = √β·R⁻¹dk̂ (R the RoPE rotation, if any). The adapter
/// gradients are sums over rows: each tile (a chunk of row blocks) adds its blocks into its own
/// Float64 partial, and `lgk_sum_partials_phase` adds the partials in chunk order.
typedef struct lgk_projection_backward_params {
  const lgk_ops *ops;
  lgk_head_layout layout;
  int64_t width;            ///< D.
  float head_scale;         ///< √β.
  double rope_theta;        ///< As in the projection (0: none).
  const float *x;           ///< X, [N, L, D].
  const float *d_heads[3];  ///< dq̂, dk̂, dV, head-major.
  const float *w[3];        ///< Effective W_μ, [D (out), D (in)], for dX; all NULL: no dX.
  float *d_x;               ///< dX, [N, L, D], or NULL.
  int64_t lora_rank;        ///< r.
  int64_t rank_stride;      ///< r rounded up to 16: the row stride of a_t and b.
  float lora_scale;         ///< s = α/r (or α/√r).
  const float *a_t[3];      ///< A_μᵀ, [D, rank_stride] zero-padded; NULL when μ has no adapter.
  const float *b[3];        ///< B_μ, [D, rank_stride] zero-padded; NULL when μ has no adapter.
  double *partials;         ///< Per chunk, per adapted μ in q, k, v order: r·D of ∂A, then D·r of ∂B.
  /// Nonzero: the error-bound pass. d_heads hold bounds (≥ 0), x, w, a_t, b their absolute
  /// values and lora_scale |s|; each head bound gets `rounding`·|d_values| added, the rotation is
  /// bounded by |R⁻¹x|_t ≤ |x_t| + |x_{t±h/2}|, so every output bounds |Δ| of its gradient.
  int32_t absolute;
  float rounding;
  const float *d_values[3]; ///< With absolute: the computed dq̂, dk̂, dV (for the rounding term).
  /// The positions row_begin ..< row_end of every sequence whose head gradients may be nonzero
  /// (0 ..< L: all; a sequence shard: its own rows). A block of 256 rows with none of them is
  /// skipped, its dX rows left as they are (so d_x must come zeroed when the range is partial);
  /// a block that straddles the range reads zeros outside it, so it adds and writes what it
  /// would without the range.
  int64_t row_begin, row_end;
} lgk_projection_backward_params;

/// The number of chunks (tiles) of the projection backward.
int64_t lgk_projection_backward_chunks(const lgk_projection_backward_params *params);
/// The doubles of `partials`: chunks × adapted × 2·r·D.
int64_t lgk_projection_backward_partial_count(const lgk_projection_backward_params *params);
/// Tiles: chunks of blocks of 256 rows of the N·L rows.
lgk_phase lgk_projection_backward_phase(const lgk_projection_backward_params *params);

/// out[e] = Σ_c partials[c·count + e] for c = 0, 1, … in order, in Float64, rounded once.
typedef struct lgk_sum_partials_params {
  int64_t parts;            ///< How many partials.
  int64_t count;            ///< Entries per partial.
  const double *partials;
  float *out;
} lgk_sum_partials_params;

/// Tiles: slabs of 1024 entries.
lgk_phase lgk_sum_partials_phase(const lgk_sum_partials_params *params);

#ifdef __cplusplus
}
#endif

#endif
