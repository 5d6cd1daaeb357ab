// The MPI calls LoRAGradMPI needs, as plain C functions over MPI_COMM_WORLD: Swift cannot import
// MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, … are macros of casts). Each returns MPI's error code
// (0: MPI_SUCCESS) unless it says otherwise; no threading inside.

#ifndef CLORAGRAD_MPI_H
#define CLORAGRAD_MPI_H

#include <stdint.h>

/// MPI_Init (idempotent: does nothing when MPI is already initialised).
int lgm_init(void);
/// MPI_Finalize (when initialised and not yet finalised).
int lgm_finalize(void);
/// This process's rank in MPI_COMM_WORLD.
int lgm_rank(void);
/// The number of ranks in MPI_COMM_WORLD.
int lgm_size(void);
/// MPI_Allgather of `count` doubles from every rank into `out` (size·count), in rank order.
int lgm_allgather_doubles(const double *in, int64_t count, double *out);
/// MPI_Allgatherv of floats: rank r contributes counts[r] floats, placed in `out` in rank order.
int lgm_allgatherv_floats(const float *in, const int64_t *counts, float *out);
/// MPI_Bcast of `count` bytes from rank `root`.
int lgm_broadcast_bytes(void *data, int64_t count, int root);
/// MPI_Barrier.
int lgm_barrier(void);
/// MPI_Abort with `code`: ends every rank of the job. Does not return.
void lgm_abort(int code);

#endif
