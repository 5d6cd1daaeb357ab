#!/bin/bash
# Compares two builds of loragrad on a shared, noisy host: `A profile …` and `B profile …` run at
# the same time, one thread each, pinned to two different cores, then again with the cores
# swapped, for R rounds; each pair sees the same minute of the host, so its ratio B/A is steadier
# than two runs one after the other (Docs/Profiling.md). Needs two cores and taskset (util-linux).
#
#   Scripts/ab-profile.sh A B [R] [profile options…]
#   Scripts/ab-profile.sh /tmp/loragrad-old .build/release/loragrad 3 --precision bf16 --heads 4
#
# Each run loops for 4 s unless the options give --seconds. Prints, per pair, A's and B's seconds
# per iteration and B/A, then the geometric mean of B/A (below 1: B is faster).
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,12p' "$0" >&2; exit 2; fi
a=$1 b=$2; shift 2
rounds=3
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then rounds=$1; shift; fi
[ "$(nproc)" -ge 2 ] || { echo "ab-profile.sh: needs two cores, this machine has $(nproc)" >&2; exit 2; }
duration=(--seconds 4)
for option in "$@"; do [ "$option" = --seconds ] && duration=(); done
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
seconds() { grep -o '[0-9.]* s each' "$1" | cut -d' ' -f1; }
ratios=()
echo "A = $a"
echo "B = $b"
echo "profile options: ${*:-(none)}; $rounds rounds of two pairs"
printf '%-8s %10s %10s %8s\n' cores A B 'B/A'
for _ in $(seq "$rounds"); do
  for swap in 0 1; do
    core_a=$swap core_b=$((1 - swap))
    taskset -c "$core_a" "$a" profile --threads 1 "${duration[@]}" "$@" 2>"$scratch/a" &
    taskset -c "$core_b" "$b" profile --threads 1 "${duration[@]}" "$@" 2>"$scratch/b" || { cat "$scratch/b" >&2; exit 1; }
    wait $! || { cat "$scratch/a" >&2; exit 1; }
    ta=$(seconds "$scratch/a") tb=$(seconds "$scratch/b")
    ratio=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.4f", b / a }')
    ratios+=("$ratio")
    printf '%-8s %10s %10s %8s\n' "$core_a/$core_b" "$ta" "$tb" "$ratio"
  done
done
printf '%s\n' "${ratios[@]}" | awk '{ s += log($1); n++ } END { printf "geometric mean B/A %.4f over %d pairs\n", exp(s / n), n }'
