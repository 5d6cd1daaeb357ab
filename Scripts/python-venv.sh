#!/usr/bin/env bash
# Creates (once) a Python venv at $1 with what the Python package's tests need from PyPI: NumPy,
# pytest, setuptools (to install ./python) and safetensors (the reference reader the tests load
# LoRAGrad's safetensors files with). Idempotent.
set -euo pipefail
venv=${1:?usage: python-venv.sh DIR}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import numpy, pytest, setuptools, wheel, safetensors" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check numpy pytest setuptools wheel safetensors
fi
