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

/// bfloat16 GEMM operands (SPEC §2.1): q̂, k̂, V and dO rounded to bf16 (round to nearest even,
/// subnormals to zero) once per call, in the packed forms the products read, and P and dS rounded
/// the same way once per tile; every product accumulates in fp32. A packed form is a matrix of
/// 4-byte words whose paired dimension (the inner dimension of the product it enters) is halved
/// when the operations table is native (lgk_ops_bf16_native: a word holds the bf16 pair
/// (x_2t, x_2t+1), low half first, as vdpbf16ps reads it), and kept with the two of each pair
/// swapped otherwise (a float holds one bf16 value, x_2t+1 before x_2t, so that fp32 FMAs take
/// the products in the instruction's order and give its bits). Per pair, each form of a
/// padded_length × head_stride source M takes padded_length·head_stride/w words (w = 2 native,
/// 1 otherwise):
///   rows:            M as a left operand, paired along its rows (padded_length × head_stride/w);
///   rows_transposed: that form transposed, so Mᵀ as a right operand, in panels of `panel` keys
///                    (panel after panel, each head_stride/w × panel, so a key block's operand is
///                    contiguous: no cache-set conflicts between its rows);
///   row_pairs:       M as a right operand, paired across rows (padded_length/w × head_stride).
typedef struct lgk_bf16_heads {
  const void *q_rows, *q_row_pairs;     ///< q̂ for S = q̂ k̂ᵀ and dk̂ = dSᵀ q̂.
  const void *k_rows_t, *k_row_pairs;   ///< k̂ for S and dq̂ = dS k̂.
  const void *v_rows_t, *v_row_pairs;   ///< V for dP = dO Vᵀ and O = P V.
  const void *d_o_rows, *d_o_row_pairs; ///< dO for dP and dV = Pᵀ dO.
} lgk_bf16_heads;

/// Packs the bf16 forms of a head view (and of dO) that are not NULL in `packed`: forms of q̂
/// from `q`, of k̂ from `k`, of V from `v`, of dO from `d_o` (all head-major, padded rows zero).
typedef struct lgk_bf16_pack_params {
  const lgk_ops *ops;       ///< Native pairs or swapped floats (lgk_ops_bf16_native).
  lgk_head_layout layout;
  int64_t panel;            ///< Keys per panel of the rows_transposed forms (the key block; divides padded_length).
  const float *q, *k, *v, *d_o;
  void *q_rows, *q_row_pairs, *k_rows_t, *k_row_pairs, *v_rows_t, *v_row_pairs, *d_o_rows, *d_o_row_pairs;
} lgk_bf16_pack_params;

/// Tiles: (pair, block of source rows).
lgk_phase lgk_bf16_pack_phase(const lgk_bf16_pack_params *params);

/// The forward pass: O = softmax(q̂ k̂ᵀ) V and lse_i = log Σ_j exp(q̂_i·k̂_j) over visible keys.
typedef struct lgk_flash_forward_params {
  const lgk_ops *ops;
  lgk_heads heads;
  int64_t query_block;      ///< Rows of a query block (B_r).
  int64_t key_block;        ///< Rows of a key block (B_c); divides the layout's padded length.
  float *o;                 ///< O, head-major.
  float *lse;               ///< Per pair and row.
  /// NULL: fp32 products. Else the bf16 forms q_rows, k_rows_t, v_row_pairs of the view.
  const lgk_bf16_heads *bf16;
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
  /// NULL: fp32 products. Else every bf16 form but v_row_pairs.
  const lgk_bf16_heads *bf16;
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
