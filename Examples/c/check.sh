#!/usr/bin/env bash
# Builds Examples/c/layer.c with plain cc against the header and libLoRAGradC.so of the given
# build (default .build/debug, what `make test` built), runs it, and checks that what the C calls
# returned is, bit for bit, what the Swift API returns for the same problem through `loragrad
# forward` and `loragrad grad` (same method, threads and backend).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/.build/debug}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -std=c11 -Wall -Wextra -Werror -I "$root/Sources/CLoRAGradABI/include" "$root/Examples/c/layer.c" \
  -L "$build" -lLoRAGradC -Wl,-rpath,"$build" -lm -o "$work/layer"
"$work/layer" "$work/out"
"$build/loragrad" forward "$work/out/problem" --out "$work/forward" --method exact >/dev/null
"$build/loragrad" grad "$work/out/problem" --out "$work/grad" --method exact >/dev/null
same() {  # $1: raw float32 from C, $2: .npy from the Swift API; compares the data bytes
  local size
  size=$(stat -c %s "$1")
  if ! cmp -s "$1" <(tail -c "$size" "$2"); then
    echo "check.sh: $(basename "$1") differs from $2" >&2
    exit 1
  fi
}
same "$work/out/c/z.f32" "$work/forward/z.npy"
same "$work/out/c/lse.f32" "$work/forward/lse.npy"
for name in grad_lora_a_q grad_lora_b_q grad_lora_a_v grad_lora_b_v grad_x; do
  same "$work/out/c/$name.f32" "$work/grad/$name.npy"
done
"$build/loragrad" forward "$work/out/problem" --out "$work/forward16" --method exact --precision bf16 >/dev/null
"$build/loragrad" grad "$work/out/problem" --out "$work/grad16" --method exact --precision bf16 >/dev/null
same "$work/out/c/bf16_z.f32" "$work/forward16/z.npy"
for name in grad_lora_a_q grad_lora_b_v grad_x; do
  same "$work/out/c/bf16_$name.f32" "$work/grad16/$name.npy"
done
echo "check.sh: the C example's Z, lse, adapter gradients and dX are the Swift API's bits (float32 and bf16)"
