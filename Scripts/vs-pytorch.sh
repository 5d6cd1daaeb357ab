#!/bin/bash
# Our exact path against PyTorch SDPA on problem directories, in interleaved rounds (a slow minute
# of a shared host falls on both): per case, PyTorch's least of 5 in-process runs (a script that
# times the layer with SDPA and prints {"min_s": …}, such as the layer_ref.py of this project's
# anchors), then one-shot `loragrad grad` runs (the least compute seconds of 3 fresh processes,
# as PyTorch's is the least of its runs) and a warm `loragrad profile`
# loop of 1.5 s (its least seconds per iteration; profile runs its embedded problem of the same shape:
# N = 1, L = 4096 unless --length, D = 64, r = 8, q, k, v adapted, so give cases of that shape).
#
#   Scripts/vs-pytorch.sh PYTHON TIMER ROUNDS THREADS CASE:PRECISION:HEADS …
#   Scripts/vs-pytorch.sh /tmp/torchvenv/bin/python ../shared/anchors/layer_ref.py 3 2 /tmp/e4k:float32:1 /tmp/e4k4:bf16:4
#
# PRECISION is float32 or bf16 (PyTorch is timed in float32 or bfloat16 to match). Prints one line
# per case and round: PyTorch's seconds, ours one-shot and warm, and PyTorch's over ours.
set -euo pipefail
if [ $# -lt 5 ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
python=$1 timer=$2 rounds=$3 threads=$4
shift 4
loragrad=${LORAGRAD:-$(dirname "$0")/../.build/release/loragrad}
[ -x "$loragrad" ] || { echo "vs-pytorch.sh: no $loragrad (swift build -c release --product loragrad, or set LORAGRAD)" >&2; exit 2; }
[ "$rounds" -ge 1 ] 2>/dev/null || { echo "vs-pytorch.sh: ROUNDS must be an integer ≥ 1, got '$rounds'" >&2; exit 2; }
[ "$threads" -ge 1 ] 2>/dev/null || { echo "vs-pytorch.sh: THREADS must be an integer ≥ 1, got '$threads'" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    IFS=: read -r case precision heads <<<"$spec"
    case $precision in float32) torch_dtype=float32 ;; bf16) torch_dtype=bfloat16 ;;
      *) echo "vs-pytorch.sh: precision float32 or bf16 in '$spec'" >&2; exit 2 ;; esac
    torch=$(OMP_NUM_THREADS=$threads "$python" "$timer" "$case" --time "$torch_dtype" --runs 5 | field min_s)
    oneshot=inf
    for _ in 1 2 3; do
      rm -rf "$out/grad"
      seconds=$("$loragrad" grad "$case" --out "$out/grad" --threads "$threads" --precision "$precision" | field seconds)
      oneshot=$(python3 -c "print(min(float('$oneshot'), $seconds))")
    done
    warm=$("$loragrad" profile --seconds 1.5 --threads "$threads" --precision "$precision" --heads "$heads" 2>&1 | tail -1 |
      sed 's/.* s each (least \([0-9.e+-]*\) s).*/\1/')
    python3 -c "print('round $round $(basename "$case") $precision: PyTorch %.4f s, ours one-shot %.4f s (%.2f×), warm %.4f s (%.2f×)' % ($torch, $oneshot, $torch / $oneshot, $warm, $torch / $warm))"
  done
done
