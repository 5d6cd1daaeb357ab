#!/bin/bash
# Our exact path against PyTorch SDPA on problem directories, in interleaved rounds (a slow minute
# of a shared host falls on both): per case, PyTorch's least of 5 in-process runs (a script that
# times the layer with SDPA and prints {"min_s": …}, such as the layer_ref.py of this project's
# anchors; layer_ref.py's timed runs include its loading of the case files and its mask), then
# one-shot `loragrad grad` runs (the least compute seconds of 3 fresh processes, as PyTorch's is
# the least of its runs; our loading is not counted) and a warm `loragrad profile` loop of 1.5 s
# (its least seconds per iteration). Profile runs its embedded problem of the case's L, H and mask
# (N = 1, D = 64, r = 8, q, k, v adapted, no biases, RoPE, padding or rsLoRA): other cases are refused.
#
#   Scripts/vs-pytorch.sh PYTHON TIMER ROUNDS THREADS CASE:PRECISION …
#   Scripts/vs-pytorch.sh /tmp/torchvenv/bin/python ../shared/anchors/layer_ref.py 3 2 /tmp/e4k:float32 /tmp/e4k4:bf16
#
# PYTHON has torch and NumPy. PRECISION is float32 or bf16 (PyTorch is timed in float32 or
# bfloat16 to match). Prints one line per case and round: PyTorch's seconds, ours one-shot and
# warm, and PyTorch's over ours.
set -euo pipefail
if [ $# -lt 5 ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
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
# The value of key $1 in the JSON object on stdin, or a message naming $2 and exit 3.
field() { python3 -c "import json, sys
v = json.load(sys.stdin).get('$1')
if v is None: sys.exit('vs-pytorch.sh: no \"$1\" in the output for $2')
print(v)"; }
for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    IFS=: read -r case precision <<<"$spec"
    case ${precision:-} in float32) torch_dtype=float32 ;; bf16) torch_dtype=bfloat16 ;;
      *) echo "vs-pytorch.sh: expected CASE:PRECISION with float32 or bf16, got '$spec'" >&2; exit 2 ;; esac
    # L, H and the mask of the case, which must be the shape profile's embedded problem has.
    shape=$("$python" - "$case" <<'PY'
import json, os, sys
import numpy as np
d = sys.argv[1]
cfg = json.load(open(os.path.join(d, "config.json")))
x = np.load(os.path.join(d, "x.npy"), mmap_mode="r")
n, l, width = (1, *x.shape) if x.ndim == 2 else x.shape
ranks = {np.load(os.path.join(d, f"lora_a_{m}.npy"), mmap_mode="r").shape[0] for m in "qkv" if os.path.exists(os.path.join(d, f"lora_a_{m}.npy"))}
extra = [k for k in ("rope_theta", "lengths") if cfg.get(k)] + (["use_rslora"] if cfg.get("use_rslora") else [])
extra += [f for f in ("b_q.npy", "b_k.npy", "b_v.npy", "dz.npy") if os.path.exists(os.path.join(d, f))]
if n != 1 or width != 64 or ranks != {8} or len([m for m in "qkv" if os.path.exists(os.path.join(d, f"lora_a_{m}.npy"))]) != 3 or extra:
    sys.exit(f"vs-pytorch.sh: {d}: expected N = 1, D = 64, r = 8, q, k, v adapted, nothing else (got N = {n}, D = {width}, r = {sorted(ranks)}, {extra})")
print(l, cfg.get("heads", 1), "--causal" if cfg.get("causal") else "")
PY
)
    read -r length heads causal <<<"$shape"
    torch=$(OMP_NUM_THREADS=$threads "$python" "$timer" "$case" --time "$torch_dtype" --runs 5 | field min_s "$case")
    oneshot=inf
    for _ in 1 2 3; do
      rm -rf "$out/grad"
      seconds=$("$loragrad" grad "$case" --out "$out/grad" --threads "$threads" --precision "$precision" | field seconds "$case")
      oneshot=$(python3 -c "print(min(float('$oneshot'), $seconds))")
    done
    warm=$("$loragrad" profile --seconds 1.5 --threads "$threads" --precision "$precision" --length "$length" --heads "$heads" \
      $causal 2>&1 | sed -n 's/.* s each (least \([0-9.e+-]*\) s).*/\1/p')
    [ -n "$warm" ] || { echo "vs-pytorch.sh: loragrad profile printed no least time for $case" >&2; exit 3; }
    python3 -c "print('round $round $(basename "$case") $precision: PyTorch %.4f s, ours one-shot %.4f s (%.2f×), warm %.4f s (%.2f×)' % ($torch, $oneshot, $torch / $oneshot, $warm, $torch / $warm))"
  done
done
