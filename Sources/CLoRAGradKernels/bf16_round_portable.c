// The fallback bf16 packs for portable: the template of bf16_round_template.h.

#include "ops.h"

#define LGK_SUFFIX portable
#define LGK_ATTRIBUTE 
#include "bf16_round_template.h"
