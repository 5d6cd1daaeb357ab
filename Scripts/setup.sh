#!/usr/bin/env bash
# Installs what LoRAGrad needs beyond the Swift toolchain on Debian: libomp-dev (the OpenMP
# runtime the OpenMP backend links), Open MPI (libopenmpi-dev, openmpi-bin: the MPI product
# and loragrad-mpi), and the serial OpenBLAS and BLIS that `loragrad-bench tile-gemm` opens at
# run time to compare our micro-kernels with (nothing links them). Idempotent; does nothing when
# they are already there.
set -euo pipefail
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: the Swift toolchain (swift) is not on PATH; install it first" >&2
  exit 1
fi
packages=(libomp-dev libopenmpi-dev openmpi-bin libopenblas0-serial libblis4-serial)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
