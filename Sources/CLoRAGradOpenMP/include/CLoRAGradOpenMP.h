// CLoRAGradOpenMP: the OpenMP parallel loop over the tiles of LoRAGrad's kernels.
//
// It lives in its own target because it needs -fopenmp, an unsafe flag for SwiftPM; keeping it
// out of the core product keeps LoRAGrad usable as a versioned dependency.

#ifndef CLORAGRADOPENMP_H
#define CLORAGRADOPENMP_H

#include <stdint.h>
#include "CLoRAGradKernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Runs tile(context, t) for t in [0, count) in an OpenMP parallel region of `threads` threads,
/// each claiming the next tile from a shared counter; returns when every tile is done.
void lgomp_parallel_tiles(lgk_tile_fn tile, const void *context, int64_t count, int32_t threads);

/// The OpenMP runtime's default thread count (omp_get_max_threads).
int32_t lgomp_max_threads(void);

#ifdef __cplusplus
}
#endif

#endif
