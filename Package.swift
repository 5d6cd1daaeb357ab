// swift-tools-version:6.0
//
// LoRAGrad: the loss and LoRA adapter gradients of softmax attention on CPU cores, exactly
// (tiled, flash-style) and in almost-linear time (the polynomial method).

import PackageDescription

let package = Package(
  name: "LoRAGrad",
  products: [
    // MARK: - Public API
    // The layer, both paths, the regime detector. No unsafe flags: usable as a versioned dependency.
    .library(name: "LoRAGrad", targets: ["LoRAGrad"]),
    // Problem directories, .npy, JSON and atomic output files.
    .library(name: "LoRAGradIO", targets: ["LoRAGradIO"]),
    // The OpenMP backend: an add-on product, because it needs -fopenmp (an unsafe flag), and
    // SwiftPM refuses versioned dependencies on products whose targets carry unsafe flags.
    .library(name: "LoRAGradOpenMP", targets: ["LoRAGradOpenMP"]),
    // The C ABI (Sources/CLoRAGradABI/include/loragrad.h, prefix lgr_) as a shared library, for C,
    // C++, Python (ctypes) and PyTorch. An add-on product: it links the OpenMP backend.
    .library(name: "LoRAGradC", type: .dynamic, targets: ["LoRAGradC"]),
    // Data parallelism over MPI (Open MPI, pkg-config ompi-c): an add-on product, so that the core
    // product needs no MPI.
    .library(name: "LoRAGradMPI", targets: ["LoRAGradMPI"]),
    .executable(name: "loragrad", targets: ["loragrad"]),
    .executable(name: "loragrad-mpi", targets: ["loragrad-mpi"]),
    .executable(name: "loragrad-bench", targets: ["loragrad-bench"]),
  ],
  targets: [
    // MARK: - Public API
    .target(name: "LoRAGrad", dependencies: ["CLoRAGradKernels"]),
    .target(name: "LoRAGradIO", dependencies: ["LoRAGrad"]),
    .target(name: "LoRAGradOpenMP", dependencies: ["LoRAGrad", "CLoRAGradOpenMP"]),
    // The C ABI: the header and its plain-data parts in C, the calls in Swift (@_cdecl).
    .target(name: "CLoRAGradABI"),
    .target(
      name: "LoRAGradC",
      dependencies: ["CLoRAGradABI", "LoRAGrad", "LoRAGradIO", "LoRAGradOpenMP", "LoRAGradCommandLine"]),

    .target(name: "LoRAGradMPI", dependencies: ["LoRAGrad", "CLoRAGradMPI"]),

    // MARK: - Implementation details
    // Hot kernels: plain C, vectorised through function target attributes; the instruction set
    // travels with each call. No unsafe flags, so the LoRAGrad product stays usable as a
    // versioned dependency.
    .target(name: "CLoRAGradKernels"),
    // The OpenMP parallel loop over the same phases.
    .target(
      name: "CLoRAGradOpenMP",
      dependencies: ["CLoRAGradKernels"],
      cSettings: [.unsafeFlags(["-fopenmp"])],
      linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libomp.so.5"])]),

    // MPI's C API and the shim over the handles Swift cannot import (MPI_COMM_WORLD, …).
    .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
    .target(name: "CLoRAGradMPI", dependencies: ["CMPI"]),

    // MARK: - Executables
    // Argument parsing, reporting and the demo problems shared by the two tools (not a product).
    .target(name: "LoRAGradCommandLine", dependencies: ["LoRAGrad", "LoRAGradIO", "LoRAGradOpenMP"]),
    .executableTarget(name: "loragrad", dependencies: ["LoRAGrad", "LoRAGradIO", "LoRAGradCommandLine"]),
    .executableTarget(name: "loragrad-mpi", dependencies: ["LoRAGrad", "LoRAGradIO", "LoRAGradCommandLine", "LoRAGradMPI"]),
    .executableTarget(
      name: "loragrad-bench",
      dependencies: ["LoRAGrad", "LoRAGradIO", "LoRAGradCommandLine", "CLoRAGradKernels"],
      path: "Benchmarks/loragrad-bench"),

    // MARK: - Unit test bundles
    .testTarget(
      name: "LoRAGradTests",
      dependencies: ["LoRAGrad", "LoRAGradIO", "LoRAGradOpenMP", "LoRAGradCommandLine", "LoRAGradC", "CLoRAGradABI"]),
  ]
)
