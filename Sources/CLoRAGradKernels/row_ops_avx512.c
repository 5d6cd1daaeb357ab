// The row primitives with AVX-512 (16 floats per vector): the template of row_ops_template.h,
// with 2ⁿ by scalef.

#include "ops.h"

#if LGK_X86
#include <immintrin.h>

#define LGK_SUFFIX avx512
#define LGK_ATTRIBUTE LGK_TARGET_AVX512
#include "vector_avx512.h"

#include "row_ops_template.h"

#endif
