// The exp of the row primitives and of the fused bf16 softmax, written once over the vector
// vocabulary of row_ops_template.h (included by it and by bf16_softmax_backward_avx512bf16.c).
//
// exp: x = n·ln2 + r by range reduction (ln2 split in two parts, Cody–Waite), e^r ≈ 1 + r +
// r²·(c₀ + c₁r + … + c₅r⁵) on |r| ≤ ln2/2 (Cephes' expf coefficients: a degree-7 polynomial, within
// a few fp32 ulps), then e^x = e^r·2ⁿ. Inputs are clamped to [−87.34, 88], so e^x never reaches
// the subnormals and 2ⁿ is exact.
//
// exp of the bf16 tiles: their P is rounded to bf16 (u_b = 2⁻⁸) before every product it enters,
// so 2⁻¹⁷ relative (on [−64, 64]; below, P < 10⁻²⁷) is enough there: one ln2 for the reduction
// and a degree-4 polynomial (minimax in relative error on |r| ≤ ln2/2: 2.6·10⁻⁶ = 2^−18.5), five
// operations fewer than vexp.
//
// Before including, define LGK_ATTRIBUTE, lgk_v and the v_* functions (row_ops_template.h).

#ifndef LGK_EXP_TEMPLATE_H
#define LGK_EXP_TEMPLATE_H

LGK_ATTRIBUTE static inline lgk_v vexp(lgk_v x) {
  x = v_max(x, v_set1(-87.33654f));
  x = v_min(x, v_set1(88.0f));
  lgk_v n = v_round(v_mul(x, v_set1(1.44269504088896341f)));
  lgk_v r = v_fnma(n, v_set1(0.693359375f), x);
  r = v_fnma(n, v_set1(-2.12194440e-4f), r);
  lgk_v p = v_set1(1.9875691500e-4f);
  p = v_fma(p, r, v_set1(1.3981999507e-3f));
  p = v_fma(p, r, v_set1(8.3334519073e-3f));
  p = v_fma(p, r, v_set1(4.1665795894e-2f));
  p = v_fma(p, r, v_set1(1.6666665459e-1f));
  p = v_fma(p, r, v_set1(5.0000001201e-1f));
  p = v_fma(p, v_mul(r, r), v_add(r, v_set1(1.0f)));
  return v_exp2i(p, n);
}

LGK_ATTRIBUTE static inline lgk_v vexp_bf16(lgk_v x) {
  x = v_max(x, v_set1(-87.33654f));
  x = v_min(x, v_set1(88.0f));
  lgk_v n = v_round(v_mul(x, v_set1(1.44269504088896341f)));
  lgk_v r = v_fnma(n, v_set1(0.693147182f), x);
  lgk_v p = v_set1(4.1458606720e-2f);
  p = v_fma(p, r, v_set1(1.6790907085e-1f));
  p = v_fma(p, r, v_set1(5.0004357100e-1f));
  p = v_fma(p, r, v_set1(9.9996340275e-1f));
  p = v_fma(p, r, v_set1(9.9999928474e-1f));
  return v_exp2i(p, n);
}

// exp(x) with the full exp, or the bf16 tiles' when `bf16` (a constant after inlining).
LGK_ATTRIBUTE static inline lgk_v vexp_of(lgk_v x, int bf16) { return bf16 ? vexp_bf16(x) : vexp(x); }

#endif
