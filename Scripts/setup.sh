#!/usr/bin/env bash
# Installs what LoRAGrad needs beyond the Swift toolchain on Debian: libomp-dev (the OpenMP
# runtime the OpenMP backend links). Idempotent; does nothing when it is already there.
set -euo pipefail
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: the Swift toolchain (swift) is not on PATH; install it first" >&2
  exit 1
fi
if dpkg -s libomp-dev >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "setup: installing libomp-dev" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libomp-dev >/dev/null
