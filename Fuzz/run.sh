#!/usr/bin/env bash
# Builds and runs a libFuzzer target for one of LoRAGrad's file parsers.
#
#   Fuzz/run.sh [npy|config|json|safetensors] [runs] [extra libFuzzer flags...]
#
#   npy     NumPyArray.parse(data:name:)      (Fuzz/NumPyFuzzer/main.swift, seeds Fuzz/corpus/npy)
#   safetensors  SafeTensorsFile.parse(data:name:) and tensor(_:)
#                                             (Fuzz/SafeTensorsFuzzer/main.swift, seeds Fuzz/corpus/safetensors)
#   config  ProblemConfig.parse(data:name:)   (Fuzz/ConfigFuzzer/main.swift, seeds Fuzz/corpus/config)
#   json    JSONValue.parse(_:)               (Fuzz/JSONFuzzer/main.swift, seeds Fuzz/corpus/config)
#   runs    number of executions (default 1000000; -1 runs until a crash or Ctrl-C)
#
# The harness is compiled by `swiftc -sanitize=fuzzer,address -parse-as-library` together with
# every file of the parsers' folder, Sources/LoRAGradIO/Formats, and of the core types it uses,
# Sources/LoRAGrad/Base (no list to keep by hand, no change to Package.swift). They form one
# module named LoRAGrad, so their `import LoRAGrad` lines are ignored (with a warning). Build
# output, the growing corpus and crash reproducers go to $FUZZ_WORK (default
# /tmp/loragrad-fuzz/<target>); the seed corpus in the repository is only read. Exit status: 0
# when no crash was found.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:-npy}"
runs="${2:-1000000}"
shift $(( $# > 2 ? 2 : $# ))

case "$target" in
  npy) harness=Fuzz/NumPyFuzzer/main.swift; seeds=npy; dict=npy ;;
  config) harness=Fuzz/ConfigFuzzer/main.swift; seeds=config; dict=config ;;
  json) harness=Fuzz/JSONFuzzer/main.swift; seeds=config; dict=config ;;
  safetensors) harness=Fuzz/SafeTensorsFuzzer/main.swift; seeds=safetensors; dict=safetensors ;;
  *) echo "usage: Fuzz/run.sh [npy|config|json|safetensors] [runs] [libFuzzer flags...]" >&2; exit 2 ;;
esac

sources=(Sources/LoRAGrad/Base/*.swift Sources/LoRAGradIO/Formats/*.swift)
[ "$target" = config ] && sources+=(Sources/LoRAGradIO/ProblemConfig.swift)

work="${FUZZ_WORK:-/tmp/loragrad-fuzz/$target}"
mkdir -p "$work/corpus" "$work/artifacts"
binary="$work/$target-fuzzer"

linker=()
command -v ld.lld >/dev/null 2>&1 && linker=(-use-ld=lld)  # gold prints pages of harmless ASan warnings
echo "building $binary" >&2
swiftc -sanitize=fuzzer,address -parse-as-library -O -g "${linker[@]}" -module-name LoRAGrad -package-name LoRAGrad -suppress-warnings \
  "$harness" Fuzz/Common/ParsedOrRejected.swift "${sources[@]}" -o "$binary"

# New inputs go to $work/corpus; the repository's seeds are read alongside it.
"$binary" -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict="Fuzz/$dict.dict" -artifact_prefix="$work/artifacts/" "$@" \
  "$work/corpus" "Fuzz/corpus/$seeds"
