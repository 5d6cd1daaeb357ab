// The row primitives in plain C: the template of row_ops_template.h on one-lane "vectors".

#include <math.h>
#include "ops.h"

typedef float lgk_v;
#define LGK_LANES 1
#define LGK_SUFFIX portable
#define LGK_ATTRIBUTE

static inline lgk_v v_set1(float x) { return x; }
static inline lgk_v v_load(const float *p) { return *p; }
static inline void v_store(float *p, lgk_v x) { *p = x; }
static inline lgk_v v_add(lgk_v a, lgk_v b) { return a + b; }
static inline lgk_v v_sub(lgk_v a, lgk_v b) { return a - b; }
static inline lgk_v v_mul(lgk_v a, lgk_v b) { return a * b; }
static inline lgk_v v_max(lgk_v a, lgk_v b) { return a > b ? a : b; }
static inline lgk_v v_min(lgk_v a, lgk_v b) { return a < b ? a : b; }
static inline lgk_v v_fma(lgk_v a, lgk_v b, lgk_v c) { return a * b + c; }
static inline lgk_v v_fnma(lgk_v a, lgk_v b, lgk_v c) { return c - a * b; }
static inline lgk_v v_round(lgk_v x) { return rintf(x); }
static inline lgk_v v_exp2i(lgk_v p, lgk_v n) { return ldexpf(p, (int)n); }
static inline float v_hsum(lgk_v x) { return x; }
static inline float v_hmax(lgk_v x) { return x; }

#include "row_ops_template.h"
