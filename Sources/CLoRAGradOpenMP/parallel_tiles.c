// The OpenMP backend: the C target's own parallel loop over tile indices. Tiles of a phase
// write disjoint outputs and every reduction is done afterwards in tile order, so the schedule
// does not change a single bit of the result.

// Declared here rather than through <omp.h>, which the Swift toolchain's clang does not ship.
int omp_get_max_threads(void);
#include "CLoRAGradOpenMP.h"

void lgomp_parallel_tiles(lgk_tile_fn tile, const void *context, int64_t count, int32_t threads) {
  if (count <= 0) return;
  if (threads <= 1 || count == 1) {
    for (int64_t t = 0; t < count; t++) tile(context, t);
    return;
  }
  // A parallel region whose threads claim tiles from a shared counter: the effect of
  // schedule(dynamic, 1), without the loop-dispatch entry points that newer clang emits and the
  // libomp of Debian 12 lacks (__kmpc_dispatch_deinit).
  int64_t next = 0;
#pragma omp parallel num_threads(threads) shared(next)
  {
    for (int64_t t = lgk_claim_tile(&next); t < count; t = lgk_claim_tile(&next)) tile(context, t);
  }
}

int32_t lgomp_max_threads(void) { return (int32_t)omp_get_max_threads(); }
