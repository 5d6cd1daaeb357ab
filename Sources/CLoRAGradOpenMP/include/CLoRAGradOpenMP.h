// CLoRAGradOpenMP: the OpenMP loop over the tiles of a phase of LoRAGrad's kernels.
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

/// Runs every tile of `phase` in an OpenMP parallel region of `workers` threads; thread w claims
/// tiles from a shared counter and works in scratch + w·scratch_stride. Returns when all are done.
void lgomp_run_phase(const lgk_phase *phase, float *scratch, int64_t scratch_stride, int32_t workers);

/// The OpenMP runtime's default thread count (omp_get_max_threads).
int32_t lgomp_max_threads(void);

#ifdef __cplusplus
}
#endif

#endif
