// CLoRAGradKernels: the hot loops of LoRAGrad, in plain C.
//
// Every exported symbol starts with `lgk_` so that nothing collides with system headers and so
// that `perf report` groups the kernels under one readable prefix.
//
// The seam with Swift is the *phase* (lgk_phase.h): a phase is a tile function, its tile count,
// the scratch each worker needs, and one small parameter struct. The C side alone knows the
// geometry of its tiles (counts, widths, scratch); Swift builds the parameter struct, keeps the
// buffers it points to alive, and hands every worker its slice of one scratch allocation. The
// kernels are single-threaded: parallelism is a partition of tile indices decided by the caller
// (the Dispatch backend in Swift, or the OpenMP loop of CLoRAGradOpenMP), never spawned in here.
//
// SIMD comes from function target attributes; which instruction set a call uses travels in its
// parameter struct as an operations table (lgk_isa.h), so calls share no mutable state and the
// target needs no unsafe compiler flags (the LoRAGrad product stays usable as a versioned
// dependency).

#ifndef CLORAGRADKERNELS_H
#define CLORAGRADKERNELS_H

#include "lgk_isa.h"
#include "lgk_phase.h"
#include "lgk_heads.h"
#include "lgk_layer.h"
#include "lgk_exact.h"
#include "lgk_poly.h"

#endif
