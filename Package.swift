// swift-tools-version:6.0
//
// LoRAGrad: the loss and LoRA adapter gradients of softmax attention on CPU cores, exactly
// (tiled, flash-style) and in almost-linear time (the polynomial method).

import PackageDescription

let package = Package(
  name: "LoRAGrad",
  products: [
    // MARK: - Public API
    .library(name: "LoRAGrad", targets: ["LoRAGrad"]),
    // The OpenMP backend: an add-on product, because it needs -fopenmp (an unsafe flag), and
    // SwiftPM refuses versioned dependencies on products whose targets carry unsafe flags.
    .library(name: "LoRAGradOpenMP", targets: ["LoRAGradOpenMP"]),
    .executable(name: "loragrad", targets: ["loragrad"]),
    .executable(name: "loragrad-bench", targets: ["loragrad-bench"]),
  ],
  targets: [
    // MARK: - Public API
    .target(
      name: "LoRAGrad",
      dependencies: ["CLoRAGradKernels"]),
    .target(
      name: "LoRAGradOpenMP",
      dependencies: ["LoRAGrad", "CLoRAGradOpenMP"]),

    // MARK: - Implementation details
    // Hot kernels: plain C, vectorised through function target attributes with runtime CPU
    // dispatch. No unsafe flags, so the LoRAGrad product stays usable as a versioned dependency.
    .target(name: "CLoRAGradKernels"),
    // The OpenMP parallel loops over the same tile functions.
    .target(
      name: "CLoRAGradOpenMP",
      dependencies: ["CLoRAGradKernels"],
      cSettings: [.unsafeFlags(["-fopenmp"])],
      linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libomp.so.5"])]),

    // MARK: - Executables
    // Argument parsing and reporting shared by the two tools (not a product).
    .target(
      name: "LoRAGradCommandLine",
      dependencies: ["LoRAGrad", "LoRAGradOpenMP"]),
    .executableTarget(
      name: "loragrad",
      dependencies: ["LoRAGrad", "LoRAGradCommandLine"]),
    .executableTarget(
      name: "loragrad-bench",
      dependencies: ["LoRAGrad", "LoRAGradCommandLine"],
      path: "Benchmarks/loragrad-bench"),

    // MARK: - Unit test bundles
    .testTarget(
      name: "LoRAGradTests",
      dependencies: ["LoRAGrad", "LoRAGradOpenMP", "LoRAGradCommandLine"]),
  ]
)
