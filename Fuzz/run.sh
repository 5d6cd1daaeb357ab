#!/usr/bin/env bash
# Builds and runs a libFuzzer target for one of LoRAGrad's file parsers.
#
#   Fuzz/run.sh [npy|config] [runs] [extra libFuzzer flags...]
#
#   npy     NumPyArray.parse(data:name:)      (Fuzz/NumPyFuzzer/main.swift, seeds Fuzz/corpus/npy)
#   config  ProblemConfig.parse(data:name:)   (Fuzz/ConfigFuzzer/main.swift, seeds Fuzz/corpus/config)
#   runs    number of executions (default 1000000; -1 runs until a crash or Ctrl-C)
#
# The harness is compiled with the IO sources it needs straight from Sources/LoRAGrad by
# `swiftc -sanitize=fuzzer,address -parse-as-library` (no change to Package.swift). Build output,
# the growing corpus and crash reproducers go to $FUZZ_WORK (default /tmp/loragrad-fuzz/<target>);
# the seed corpus in the repository is only read. Exit status: 0 when no crash was found.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:-npy}"
runs="${2:-1000000}"
shift $(( $# > 2 ? 2 : $# ))

case "$target" in
  npy) harness=Fuzz/NumPyFuzzer/main.swift ;;
  config) harness=Fuzz/ConfigFuzzer/main.swift ;;
  *) echo "usage: Fuzz/run.sh [npy|config] [runs] [libFuzzer flags...]" >&2; exit 2 ;;
esac

sources=(
  Sources/LoRAGrad/IO/NumPyArray.swift
  Sources/LoRAGrad/IO/NumPyHeader.swift
  Sources/LoRAGrad/IO/PythonLiteral.swift
  Sources/LoRAGrad/IO/FileAccess.swift
  Sources/LoRAGrad/IO/ProblemConfig.swift
  Sources/LoRAGrad/IO/JSONObject.swift
  Sources/LoRAGrad/Problem/LoRAGradError.swift
  Sources/LoRAGrad/Problem/Tensor.swift
)

work="${FUZZ_WORK:-/tmp/loragrad-fuzz/$target}"
mkdir -p "$work/corpus" "$work/artifacts"
binary="$work/$target-fuzzer"

linker=()
command -v ld.lld >/dev/null 2>&1 && linker=(-use-ld=lld)  # gold prints pages of harmless ASan warnings
echo "building $binary" >&2
swiftc -sanitize=fuzzer,address -parse-as-library -O -g "${linker[@]}" -module-name LoRAGradFuzz \
  "$harness" Fuzz/Common/ParsedOrRejected.swift "${sources[@]}" -o "$binary"

# New inputs go to $work/corpus; the repository's seeds are read alongside it.
"$binary" -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict="Fuzz/$target.dict" -artifact_prefix="$work/artifacts/" "$@" \
  "$work/corpus" "Fuzz/corpus/$target"
