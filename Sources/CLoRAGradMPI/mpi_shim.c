// The plain C functions of CLoRAGradMPI.h over MPI_COMM_WORLD.

#include "CLoRAGradMPI.h"
#include <limits.h>
#include <stdlib.h>
#include <mpi.h>

int lgm_init(void) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  return initialised ? MPI_SUCCESS : MPI_Init(NULL, NULL);
}

int lgm_finalize(void) {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  return initialised && !finalised ? MPI_Finalize() : MPI_SUCCESS;
}

int lgm_rank(void) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int lgm_size(void) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

int lgm_allgather_doubles(const double *in, int64_t count, double *out) {
  if (count > INT_MAX) return MPI_ERR_COUNT;
  return MPI_Allgather(in, (int)count, MPI_DOUBLE, out, (int)count, MPI_DOUBLE, MPI_COMM_WORLD);
}

int lgm_allgatherv_floats(const float *in, const int64_t *counts, float *out) {
  const int size = lgm_size(), rank = lgm_rank();
  int *received = malloc(sizeof(int) * (size_t)size), *displacements = malloc(sizeof(int) * (size_t)size);
  if (!received || !displacements) {
    free(received);
    free(displacements);
    return MPI_ERR_NO_MEM;
  }
  int64_t offset = 0;
  int status = MPI_SUCCESS;
  for (int r = 0; r < size; r++) {
    if (counts[r] > INT_MAX || offset > INT_MAX) status = MPI_ERR_COUNT;
    received[r] = (int)counts[r];
    displacements[r] = (int)offset;
    offset += counts[r];
  }
  if (status == MPI_SUCCESS)
    status = MPI_Allgatherv(in, received[rank], MPI_FLOAT, out, received, displacements, MPI_FLOAT, MPI_COMM_WORLD);
  free(received);
  free(displacements);
  return status;
}

int lgm_broadcast_bytes(void *data, int64_t count, int root) {
  if (count > INT_MAX) return MPI_ERR_COUNT;
  return MPI_Bcast(data, (int)count, MPI_BYTE, root, MPI_COMM_WORLD);
}

int lgm_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

void lgm_abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  exit(code);
}
