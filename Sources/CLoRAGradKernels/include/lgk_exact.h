// The exact path, FlashAttention-2 style: tiles of queries against tiles of keys with the online
// softmax, P recomputed in the backward pass from the saved log-sum-exp; memory O(N·L·D) plus a
// block per worker, never an L×L matrix. Masks: causal (key j > i hidden: blocks wholly above
// the diagonal are skipped, diagonal blocks masked) and key padding (keys j ≥ ℓ_n hidden).

#ifndef LGK_EXACT_H
#define LGK_EXACT_H

#include <stdint.h>
#include "lgk_isa.h"
#include "lgk_phase.h"
#include "lgk_heads.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The forward pass: O = softmax(q̂ k̂ᵀ) V and lse_i = log Σ_j exp(q̂_i·k̂_j) over visible keys.
typedef struct lgk_flash_forward_params {
  const lgk_ops *ops;
  lgk_heads heads;
  int64_t query_block;      ///< Rows of a query block (B_r).
  int64_t key_block;        ///< Rows of a key block (B_c); divides the layout's padded length.
  float *o;                 ///< O, head-major.
  float *lse;               ///< Per pair and row.
} lgk_flash_forward_params;

/// Tiles: (pair, query block), the longest (causal) first.
lgk_phase lgk_flash_forward_phase(const lgk_flash_forward_params *params);

/// The number of key groups of the backward pass for a length: at most `max_key_groups`, never
/// more than there are key blocks. Key block c belongs to group c mod groups.
int64_t lgk_flash_key_groups(int64_t length, int64_t key_block, int64_t max_key_groups);

/// The backward pass: with P recomputed from lse and dS = P ∘ (dO Vᵀ − δ),
///   dV = Pᵀ dO,  dk̂ = dSᵀ q̂  (rows owned by the tile of their key block's group),
///   dq̂ = dS k̂ as one partial per key group, added by `lgk_flash_reduce_dq_phase`.
typedef struct lgk_flash_backward_params {
  const lgk_ops *ops;
  lgk_heads heads;
  int64_t query_block, key_block;
  int64_t key_groups;       ///< From lgk_flash_key_groups.
  int64_t panel_row;        ///< The first query row of this panel (a multiple of query_block).
  int64_t panel_rows;       ///< Query rows per panel (a multiple of query_block): the partials' rows.
  const float *d_o;         ///< dO, head-major.
  const float *lse;         ///< From the forward pass.
  const float *delta;       ///< δ_i = ⟨dO_i, O_i⟩ per pair and row.
  float *d_q_partials;      ///< key_groups buffers of panel_rows × head_stride, group-major within each pair.
  float *d_k;               ///< dk̂, head-major, accumulated panel after panel (rows of hidden keys: zero).
  float *d_v;               ///< dV, head-major, likewise.
} lgk_flash_backward_params;

/// Tiles: (pair, key group), for the query rows of one panel. Run for the panels in order, the
/// panels give the bits of one sweep over all query rows (each sum keeps its order).
lgk_phase lgk_flash_backward_phase(const lgk_flash_backward_params *params);

/// dq̂ = Σ_g partial_g for the rows of one panel, in group order (causal: only the groups whose
/// first key block a row can see; the others hold no contribution there and are neither cleared
/// nor read).
typedef struct lgk_flash_reduce_dq_params {
  lgk_head_layout layout;
  int32_t causal;
  int64_t query_block, key_block;
  int64_t key_groups;
  int64_t panel_row, panel_rows;  ///< As in lgk_flash_backward_params.
  const float *d_q_partials;
  float *d_q;               ///< dq̂, head-major.
} lgk_flash_reduce_dq_params;

/// Tiles: (pair, query block of the panel).
lgk_phase lgk_flash_reduce_dq_phase(const lgk_flash_reduce_dq_params *params);

#ifdef __cplusplus
}
#endif

#endif
