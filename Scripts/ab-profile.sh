#!/bin/bash
# Compares two builds of loragrad on a shared, noisy host: `A profile …` and `B profile …` run at
# the same time, one thread each, pinned to two different cores, then again with the cores
# swapped, for R rounds; each pair sees the same minute of the host, so its ratio B/A is steadier
# than two runs one after the other (Docs/Profiling.md). Needs two usable cores and taskset
# (util-linux).
#
#   Scripts/ab-profile.sh A B [R] [profile options…]
#   Scripts/ab-profile.sh /tmp/loragrad-old .build/release/loragrad 3 --precision bf16 --heads 4
#
# Each run loops for 4 s unless the options give --seconds. Prints, per pair, A's and B's seconds
# per iteration and B/A, then the geometric mean of B/A (below 1: B is faster).
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,13p' "$0" >&2; exit 2; fi
a=$1 b=$2; shift 2
rounds=3
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then rounds=$1; shift; fi
[ "$rounds" -ge 1 ] || { echo "ab-profile.sh: R must be at least 1, got $rounds" >&2; exit 2; }
# The first two CPUs this process may run on (a cpuset may exclude 0 and 1).
read -r -a cpus <<<"$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
  awk -F- '{ last = NF > 1 ? $2 : $1; for (c = $1; c <= last; c++) printf "%d ", c }')"
[ "${#cpus[@]}" -ge 2 ] || { echo "ab-profile.sh: needs two usable cores, this process has ${#cpus[@]}" >&2; exit 2; }
duration=(--seconds 4)
for option in "$@"; do [ "$option" = --seconds ] && duration=(); done
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Seconds per iteration from profile's stderr (printed with %.4g, so possibly as 1.2e-05).
seconds() { grep -oE '[0-9.]+(e[-+]?[0-9]+)? s each' "$1" | cut -d' ' -f1; }
ratios=()
echo "A = $a"
echo "B = $b"
echo "profile options: ${*:-(none)}; $rounds rounds of two pairs, CPUs ${cpus[0]} and ${cpus[1]}"
printf '%-8s %10s %10s %8s\n' cpus A B 'B/A'
for _ in $(seq "$rounds"); do
  for swap in 0 1; do
    cpu_a=${cpus[$swap]} cpu_b=${cpus[$((1 - swap))]}
    taskset -c "$cpu_a" "$a" profile --threads 1 "${duration[@]}" "$@" 2>"$scratch/a" &
    pid_a=$!
    if ! taskset -c "$cpu_b" "$b" profile --threads 1 "${duration[@]}" "$@" 2>"$scratch/b"; then
      kill "$pid_a" 2>/dev/null || true
      wait "$pid_a" 2>/dev/null || true
      cat "$scratch/b" >&2
      exit 1
    fi
    wait "$pid_a" || { cat "$scratch/a" >&2; exit 1; }
    ta=$(seconds "$scratch/a") tb=$(seconds "$scratch/b")
    ratio=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.4f", b / a }')
    ratios+=("$ratio")
    printf '%-8s %10s %10s %8s\n' "$cpu_a/$cpu_b" "$ta" "$tb" "$ratio"
  done
done
printf '%s\n' "${ratios[@]}" | awk '{ s += log($1); n++ } END { printf "geometric mean B/A %.4f over %d pairs\n", exp(s / n), n }'
