// The fallback bf16 packs for avx512: the template of bf16_round_template.h.

#include "ops.h"

#if LGK_X86
#define LGK_SUFFIX avx512
#define LGK_ATTRIBUTE LGK_TARGET_AVX512
#include "bf16_round_template.h"
#endif
