// The exact path's blocking per instruction set (lgk_isa.h): one row per class, each chosen by
// `loragrad-bench blocks` (block sizes against each other, interleaved call by call) on the
// classes measured so far; the numbers and the machine are in Docs/Benchmarks.md.
//
// A key panel of 16 KiB (of k̂ᵀ, and the same of Vᵀ) keeps Float32 at h = 64 on the 64-key blocks
// the exact path always had, and gives h = 16 blocks of 256 keys and native bf16 at h = 64 blocks
// of 128. With a 16-wide head a tile's products are only 16 FMAs deep, so what each row pays once
// per key block between them (its maximum, the exp's sum, the rescaling of O, the micro-kernels'
// start and store) weighs more, and longer key blocks pay it less often: 1.05–1.18× at h = 16 on
// Zen 4 with every class's kernels. bf16 products halve the products' time, so the same holds for
// them at h = 64 (1.03–1.09×), while Float32 at h = 64 gained nothing beyond the noise (±3%).

#include "ops.h"

// One row per lgk_isa, narrowest first: the class each was swept on, and its numbers.
static const lgk_blocking table[] = {
    [lgk_isa_portable] = {.query_block = 64, .key_panel_bytes = 16384, .key_block_min = 64, .key_block_max = 256},
    // Swept on Zen 4 running the AVX2 kernels; not on 128-bit units (Zen 1).
    [lgk_isa_avx2_fma] = {.query_block = 64, .key_panel_bytes = 16384, .key_block_min = 64, .key_block_max = 256},
    // Zen 4 (half-rate AVX-512); not yet swept on a full-rate core (Zen 5).
    [lgk_isa_avx512f] = {.query_block = 64, .key_panel_bytes = 16384, .key_block_min = 64, .key_block_max = 256},
    // Zen 4, Float32 and bf16 products.
    [lgk_isa_avx512bf16] = {.query_block = 64, .key_panel_bytes = 16384, .key_block_min = 64, .key_block_max = 256},
};

lgk_blocking lgk_blocking_for(lgk_isa isa) {
  const int index = (int)isa;
  return table[index >= 0 && index < (int)(sizeof table / sizeof table[0]) ? index : lgk_isa_portable];
}

int64_t lgk_blocking_key_block(lgk_blocking blocking, int64_t head_width, int64_t element_bytes) {
  const int64_t row_bytes = head_width * (element_bytes > 0 ? element_bytes : 4);
  int64_t block = row_bytes > 0 ? blocking.key_panel_bytes / row_bytes / 16 * 16 : blocking.key_block_max;
  if (block < blocking.key_block_min) block = blocking.key_block_min;
  if (block > blocking.key_block_max) block = blocking.key_block_max;
  return block;
}
