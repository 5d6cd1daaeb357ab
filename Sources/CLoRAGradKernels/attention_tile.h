// One (query block, key block) tile of softmax attention, forwards and backwards: the inner body
// shared by the exact path's tiles and the exact in-chunk part of the causal polynomial path.
// Query row i (absolute index row0 + i) sees the keys j of the block with j < visible and, when
// causal, j ≤ row0 + i; the other entries of P are exactly zero.

#ifndef LGK_ATTENTION_TILE_H
#define LGK_ATTENTION_TILE_H

#include "ops.h"

/// Where a tile sits: its rows, columns, head stride and mask.
typedef struct lgk_tile_shape {
  int64_t rows, cols;       ///< Query rows and key columns of the tile.
  int64_t head_stride;      ///< The inner dimension hs of every product.
  int64_t row0, key0;       ///< Absolute index of the first query row and the first key.
  int64_t visible;          ///< Keys j ≥ visible are hidden (the key length).
  int causal;               ///< Nonzero: keys j > i are hidden.
} lgk_tile_shape;

/// How many keys of the tile's block query row i sees.
int64_t lgk_tile_row_valid(const lgk_tile_shape *shape, int64_t i);

/// The softmax half of an online step, on the scores S (rows × cols) of one block: per row
/// m ← max(m, max_j S_ij), S ← exp(S − m) (zero where hidden), l ← l·e^{m_old − m} + Σ_j S_ij,
/// O ← O·e^{m_old − m}; P V is then added by the caller. `bf16`: with the bf16 tiles' exp; p_rows
/// (native bf16 only, cols a multiple of 16, else NULL): P goes into its rows form there (ld cols
/// bf16s) instead of over S.
void lgk_tile_online_softmax(const lgk_ops *ops, const lgk_tile_shape *shape, float *s, float *row_max, float *row_sum,
                             float *o, int bf16, uint16_t *p_rows);

/// One step of the online softmax (FlashAttention-2): S = q k_tᵀ, per row m ← max(m, max_j S_ij),
/// P = exp(S − m) (zero where hidden), l ← l·e^{m_old − m} + Σ_j P_ij, O ← O·e^{m_old − m} + P V.
/// q: rows × hs (ld ldq); k_t: hs × cols (ld ldkt); v: cols × hs (ld ldv); o: rows × hs (ld hs);
/// s: scratch rows × cols.
void lgk_tile_forward_online(const lgk_ops *ops, const lgk_tile_shape *shape, const float *q, int64_t ldq,
                             const float *k_t, int64_t ldkt, const float *v, int64_t ldv, float *s,
                             float *row_max, float *row_sum, float *o);

/// The unnormalised part of a tile with no running shift: E = exp(S) (zero where hidden),
/// den_i += Σ_j E_ij, num_i += Σ_j E_ij V_j (num: rows × hs, ld ldnum); s: scratch rows × cols.
void lgk_tile_forward_fixed(const lgk_ops *ops, const lgk_tile_shape *shape, const float *q, int64_t ldq,
                            const float *k_t, int64_t ldkt, const float *v, int64_t ldv, float *s,
                            float *den, float *num, int64_t ldnum);

/// The backward tile: P = exp(S − lse) (zero where hidden), dS = P ∘ (dO Vᵀ − δ), then
///   dV ← beta_kv·dV + Pᵀ dO,  dK ← beta_kv·dK + dSᵀ q,  dQ ← beta_q·dQ + dS k.
/// k_t (hs × cols) gives S, k (cols × hs) gives dQ, v_t (hs × cols) gives dO Vᵀ; d_q: rows × hs,
/// d_k, d_v: cols × hs (ld hs); p, ds: scratch rows × cols each.
void lgk_tile_backward(const lgk_ops *ops, const lgk_tile_shape *shape, const float *q, int64_t ldq,
                       const float *k_t, int64_t ldkt, const float *k, int64_t ldk, const float *v_t,
                       int64_t ldvt, const float *d_o, int64_t lddo, const float *lse, const float *delta,
                       float *d_q, int64_t lddq, float beta_q, float *d_k, float *d_v, float beta_kv,
                       float *p, float *ds);

/// lgk_tile_forward_online with bf16 products (lgk_exact.h): q̂ in the rows form from the tile's
/// first row (ld hs/w words), k̂ in the rows_transposed form from the block's first key (ld
/// ldkt), V in the row_pairs form from the block's first key (ld hs); P is rounded into p_rows
/// (scratch, rows × cols words) after the softmax sums have taken it in fp32.
void lgk_tile_forward_online_bf16(const lgk_ops *ops, const lgk_tile_shape *shape, const void *q, const void *k_t,
                                  int64_t ldkt, const void *v, float *s, void *p_rows, float *row_max,
                                  float *row_sum, float *o);

/// lgk_tile_backward with bf16 products: q̂ and dO from the tile's first row (rows and row_pairs
/// forms), k̂ and V from the block's first key (rows_transposed, ld ldt, and row_pairs forms).
/// S and dP are formed in fp32 in p and ds (scratch, rows × cols each), P and dS rounded for their
/// products into `packed` (scratch, lgk_tile_backward_bf16_packed_words(rows, cols) words).
/// The words of the three packed operands lgk_tile_backward_bf16 writes for a rows × cols tile.
int64_t lgk_tile_backward_bf16_packed_words(int64_t rows, int64_t cols);

void lgk_tile_backward_bf16(const lgk_ops *ops, const lgk_tile_shape *shape, const void *q_rows, const void *q_pairs,
                            const void *k_t, const void *k_pairs, const void *v_t, int64_t ldt, const void *d_o_rows,
                            const void *d_o_pairs, const float *lse, const float *delta, float *d_q, int64_t lddq,
                            float beta_q, float *d_k, float *d_v, float beta_kv, float *p, float *ds, void *packed);

#endif
