import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad-bench roof`: this machine's SGEMM roof per instruction set and thread count.
enum RoofBenchmark {
  static let help = """
    usage: loragrad-bench roof [--threads N] [--python PY] [--out DIR]

    The machine (CPU, vector class) and its SGEMM roof: our micro-kernels of every instruction set
    the CPU runs (portable, avx2+fma, avx512f; for avx512f+bf16 the bf16 pair product, vdpbf16ps,
    the roof of the bf16 exact path), each thread on its own n × n product, n ∈ {128, 256, 384},
    at 1 thread and at N threads (default: the cores), and NumPy's float32 matmul (OpenBLAS in the
    PyPI wheels) at the same thread counts when a Python with NumPy is found.
    With --out: DIR/roof.csv.

      --threads N          the multi-thread count (default \(activeProcessorCount))
    \(Roof.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let threads = try arguments.integer("--threads", default: activeProcessorCount, in: 1...4096)
    let python = try Roof.python(&arguments)
    let output = try arguments.option("--out")
    try arguments.finish()
    let machine = MachineDescription.current
    print("machine: \(machine.processor), vector class \(machine.vectorClass)")
    print("kernels               precision   threads   GFLOP/s   best n")
    var table = CSVTable(columns: ["processor", "vector_class", "kernels", "precision", "threads", "gflops", "size"])
    for count in Array(Set([1, threads])).sorted() {
      for isa in KernelInstructionSet.available {
        // avx512f+bf16 runs avx512f's Float32 kernels: its own row is the bf16 pair product.
        let precision: ExactPrecision = isa.multipliesBFloat16 ? .bfloat16 : .float32
        let roof = try SGEMMRoof.measure(instructionSet: isa, threads: count, precision: precision, seconds: 0.6)
        print(String(format: "%@ %@ %9d %9.1f %8d", cell(isa.rawValue, 20), cell(precision.name, 11), count, roof.gflops, roof.size))
        table.append([machine.processor, machine.vectorClass, isa.rawValue, precision.name, String(count), String(roof.gflops), String(roof.size)])
      }
      if let blas = Roof.numpyRate(python: python, threads: count) {
        print(String(format: "%@ %@ %9d %9.1f %8@", cell("NumPy/\(blas.library)", 20), cell("float32", 11), count, blas.gflops, "≤2048"))
        table.append([machine.processor, machine.vectorClass, "numpy-\(blas.library)", "float32", String(count), String(blas.gflops), ""])
      } else {
        print("NumPy                \(count)   not measured (no Python with NumPy at '\(python)')")
      }
    }
    if let output { try table.write(to: output, name: "roof.csv") }
  }
}
