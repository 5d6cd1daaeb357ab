// The OpenMP backend: the C target's own parallel region over the tiles of a phase. Tiles write
// disjoint outputs and every reduction is a later phase in a fixed order, so the schedule does not
// change a single bit of the result.

// Declared here rather than through <omp.h>, which the Swift toolchain's clang does not ship.
int omp_get_max_threads(void);
int omp_get_thread_num(void);
#include "CLoRAGradOpenMP.h"

void lgomp_run_phase(const lgk_phase *phase, float *scratch, int64_t scratch_stride, int32_t workers) {
  if (phase->tiles <= 0) return;
  if (workers <= 1 || phase->tiles == 1) {
    for (int64_t t = 0; t < phase->tiles; t++) phase->tile(phase->params, t, scratch);
    return;
  }
  // Threads claim tiles from a shared counter: the effect of schedule(dynamic, 1), without the
  // loop-dispatch entry points that newer clang emits and the libomp of Debian 12 lacks
  // (__kmpc_dispatch_deinit).
  int64_t next = 0;
#pragma omp parallel num_threads(workers) shared(next)
  { lgk_run_claimed_tiles(phase, &next, scratch + (int64_t)omp_get_thread_num() * scratch_stride); }
}

int32_t lgomp_max_threads(void) { return (int32_t)omp_get_max_threads(); }
