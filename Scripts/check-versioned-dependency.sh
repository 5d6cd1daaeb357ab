#!/usr/bin/env bash
# Proves that the LoRAGrad product is usable as a *versioned* dependency: a snapshot of this
# working tree becomes a local git repository tagged 1.0.0, and a tiny consumer package that
# depends on it with `.package(url: "file://…", from: "1.0.0")` builds and calls the API.
# It also checks the other side: SwiftPM refuses the same dependency on LoRAGradOpenMP (its
# target needs -fopenmp, an unsafe flag), which is why the OpenMP backend is a separate product.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/LoRAGrad"
if git -C "$root" rev-parse >/dev/null 2>&1; then
  (cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 tar cf -) | tar xf - -C "$work/LoRAGrad"
else
  (cd "$root" && tar cf - --exclude=.build .) | tar xf - -C "$work/LoRAGrad"
fi
(
  cd "$work/LoRAGrad"
  git init -q
  git add -A
  git -c user.name=check -c user.email=check@localhost commit -qm "snapshot for the versioned-dependency check"
  git tag 1.0.0
)

make_consumer() {  # $1: directory, $2: product
  mkdir -p "$1/Sources/Consumer"
  cat > "$1/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription
let package = Package(
  name: "Consumer",
  dependencies: [.package(url: "file://$work/LoRAGrad", from: "1.0.0")],
  targets: [.executableTarget(name: "Consumer", dependencies: [.product(name: "$2", package: "LoRAGrad")])]
)
SWIFT
}

make_consumer "$work/consumer" LoRAGrad
cat > "$work/consumer/Sources/Consumer/main.swift" <<'SWIFT'
import LoRAGrad

let problem = try AttentionProblem.synthetic(sequences: 2, length: 40, width: 16, heads: 2, loraRank: 2, causal: true, seed: 7)
let fast = try problem.gradients(method: .exact, options: .dispatch(threads: 2))
let reference = try problem.gradients(method: .reference, options: .serial)
let error = fast.maxRelativeDifference(from: reference)
guard fast.adapters.count == 3, error < 1e-4 else { fatalError("unexpected result: \(error)") }
print("consumer: loss \(fast.loss!), gradients within \(error) of the reference")
SWIFT
echo "check-versioned-dependency: building a consumer of LoRAGrad from: 1.0.0" >&2
(cd "$work/consumer" && swift build -q 2>&1 | tail -20 && swift run -q Consumer)

make_consumer "$work/openmp-consumer" LoRAGradOpenMP
echo 'import LoRAGradOpenMP' > "$work/openmp-consumer/Sources/Consumer/main.swift"
if out=$(cd "$work/openmp-consumer" && swift package resolve 2>&1 && swift build 2>&1); then
  echo "check-versioned-dependency: expected SwiftPM to refuse LoRAGradOpenMP as a versioned dependency" >&2
  exit 1
fi
if ! grep -q "unsafe build flags" <<<"$out"; then
  echo "check-versioned-dependency: LoRAGradOpenMP failed for another reason:" >&2
  echo "$out" | tail -20 >&2
  exit 1
fi
echo "check-versioned-dependency: ok (LoRAGrad builds from: 1.0.0; LoRAGradOpenMP is refused for its unsafe flags, as expected)"
