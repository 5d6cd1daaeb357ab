// Open MPI's C API (pkg-config ompi-c) for the C shim of LoRAGradMPI.
#include <mpi.h>
