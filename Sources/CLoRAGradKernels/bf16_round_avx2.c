// The fallback bf16 packs for avx2: the template of bf16_round_template.h.

#include "ops.h"

#if LGK_X86
#define LGK_SUFFIX avx2
#define LGK_ATTRIBUTE LGK_TARGET_AVX2
#include "bf16_round_template.h"
#endif
