import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad-bench exact`: the exact path's seconds and GFLOP/s, full and causal mask side by side,
/// with the cost of dX.
enum ExactBenchmark {
  static let help = """
    usage: loragrad-bench exact [--quick] [--length L] [--heads H] [--repeats K] [--out DIR]
                                [--threads N] [--backend B] [--isa I]

    Times the exact loss + q, k, v adapter gradients + dX (N = 1, D = 64, r = 8) for
    L ∈ {1024, 4096, 16384} × H ∈ {1, 4}, with the full mask and with the causal mask, in one run:
    the median of K runs after one warm-up, GFLOP/s counted as 12·D per visible query-key pair
    (12·N·L²·D for the full mask), the causal speedup, the cost of dX (the same run without dX),
    the process's peak RSS, and each rate as a share of this machine's SGEMM roof measured at the
    start of the same run (our kernels and NumPy's BLAS at the same thread count; see `roof`).

    options:
      --quick              L ∈ {1024, 4096} only
      --length L           one length instead of the sweep (e.g. 65536)
      --heads H            one head count instead of {1, 4}
      --repeats K          timed runs per case (default 3; 1 for L > 16384)
      --out DIR            also write DIR/exact.csv
    \(Roof.help)
    \(ExecutionArguments.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let onlyLength = try arguments.option("--length").map { text -> Int in
      guard let value = Int(text), value >= 1 else {
        throw LoRAGradError.invalidArgument(argument: "--length", expected: "an integer ≥ 1", given: "'\(text)'")
      }
      return value
    }
    let onlyHeads = try arguments.option("--heads").map { text -> Int in
      guard let value = Int(text), value >= 1, 64 % value == 0 else {
        throw LoRAGradError.invalidArgument(argument: "--heads", expected: "a divisor of 64", given: "'\(text)'")
      }
      return value
    }
    let repeats = try arguments.integer("--repeats", default: 3, in: 1...100)
    let output = try arguments.option("--out")
    let python = try Roof.python(&arguments)
    let options = try ExecutionArguments(&arguments).options
    try arguments.finish()
    let machine = MachineDescription.current
    let roof = try Roof.measure(instructionSet: options.instructionSet, threads: options.parallelism.threads, python: python)

    let lengths = onlyLength.map { [$0] } ?? (quick ? [1024, 4096] : [1024, 4096, 16384])
    let headCounts = onlyHeads.map { [$0] } ?? [1, 4]
    var table = CSVTable(columns: [
      "length", "width", "heads", "mask", "threads", "backend", "kernels", "seconds", "gflops", "seconds_without_dx",
      "dx_overhead", "causal_speedup", "loss", "peak_rss_mb", "roof_gflops", "roof_share", "processor", "vector_class",
    ])
    print("exact path, N = 1, D = 64, r = 8, q,k,v adapted, loss + adapter gradients + dX, \(options.parallelism), kernels \(options.instructionSet.rawValue)")
    print("machine: \(machine.processor), vector class \(machine.vectorClass); \(roof.summary)")
    print("     L   H  mask      seconds   GFLOP/s   of roof   without dX   dX cost   causal speedup   peak RSS")
    for length in lengths {
      for heads in headCounts {
        var fullSeconds: Double?
        for causal in [false, true] {
          let problem = try DemoProblems.exact(length: length, heads: heads, causal: causal)
          let runs = length > 16384 ? 1 : repeats
          let warmUp = length <= 16384 ? 1 : 0
          var loss = 0.0
          let seconds = try Measurement.medianSeconds(runs: runs, warmUp: warmUp) {
            loss = try problem.gradients(method: .exact, options: options).loss ?? .nan
          }
          let withoutDX = try Measurement.medianSeconds(runs: runs, warmUp: 0) {
            _ = try problem.gradients(method: .exact, inputGradient: false, options: options)
          }
          let gflops = CostModel.exactFlops(problem.shape) / seconds / 1e9
          let overhead = seconds / withoutDX - 1
          let speedup = causal ? fullSeconds.map { $0 / seconds } : nil
          let rss = Double(peakResidentBytes()) / 1e6
          print(String(format: "%6d %3d  %@ %10.4f %9.1f %8.1f%% %12.4f %8.1f%% %@ %8.0f MB", length, heads, (causal ? "causal" : "full  ") as NSString,
                       seconds, gflops, 100 * gflops / roof.gflops, withoutDX, 100 * overhead, cell(speedup.map { String(format: "%.2f×", $0) } ?? "—", 16), rss))
          table.append([String(length), "64", String(heads), causal ? "causal" : "full", String(options.parallelism.threads),
                        options.parallelism.backendName, options.instructionSet.rawValue, String(seconds), String(gflops),
                        String(withoutDX), String(overhead), speedup.map { String($0) } ?? "", String(loss), String(rss),
                        String(roof.gflops), String(gflops / roof.gflops), machine.processor, machine.vectorClass])
          if !causal { fullSeconds = seconds }
        }
      }
    }
    if let output { try table.write(to: output, name: "exact.csv") }
  }
}
