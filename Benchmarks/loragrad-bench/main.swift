import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// The benchmark tool: `loragrad-bench <sweep> [options]`. Speed targets live here, measured as
/// ratios side by side in one run, never as timed unit tests.

let benchHelp = """
  usage: loragrad-bench <sweep> [options]

  sweeps:
    exact      seconds and GFLOP/s of the exact path (12·N·L²·D) for L ∈ {1024, 4096, 16384},
               D = 64, H ∈ {1, 4}; --length L for one length; peak RSS reported
    poly       the polynomial path against the exact path over L (h = 16, R = 0.5, ε = 1e-3)
    scaling    threads 1…N × dispatch/openmp × exact/poly: speedup and efficiency (CSV, SVG)
    length     time against L for both paths, fitted slopes and the crossover (CSV, SVG)
    phase      the phase-transition map: Γ*(L) against c·√(log L), speedup over (L, R) (CSV, SVG)
    calibrate  the kernel rates behind the cost model (--write saves them)
    roof       this machine's SGEMM roof: our kernels per instruction set, and NumPy's BLAS
    tile-gemm  our micro-kernels against OpenBLAS and BLIS on the products of one exact tile pair
    blocks     the exact path's block sizes against each other, interleaved (the blocking table's sweep)
    bounds     the polynomial path's error bounds against its observed errors
    exp        the vector exp against Float64 on every Float32 in [−64, 64]
    train      teacher–student fine-tuning on the exact and polynomial paths side by side (CSV, SVG)

  `loragrad-bench <sweep> --help` for a sweep's options; exit codes as for loragrad
  """

let bench = CommandTable(tool: "loragrad-bench", help: benchHelp, commands: [
  "exact": (ExactBenchmark.help, ExactBenchmark.run),
  "poly": (PolynomialBenchmark.help, PolynomialBenchmark.run),
  "calibrate": (CalibrateBenchmark.help, CalibrateBenchmark.run),
  "roof": (RoofBenchmark.help, RoofBenchmark.run),
  "tile-gemm": (TileGEMMBenchmark.help, TileGEMMBenchmark.run),
  "blocks": (BlocksBenchmark.help, BlocksBenchmark.run),
  "scaling": (ScalingBenchmark.help, ScalingBenchmark.run),
  "length": (LengthBenchmark.help, LengthBenchmark.run),
  "phase": (PhaseBenchmark.help, PhaseBenchmark.run),
  "bounds": (BoundsBenchmark.help, BoundsBenchmark.run),
  "exp": (ExpBenchmark.help, ExpBenchmark.run),
  "train": (TrainBenchmark.help, TrainBenchmark.run),
])

exit(bench.run(Array(CommandLine.arguments.dropFirst())))
