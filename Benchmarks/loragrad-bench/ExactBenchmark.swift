import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad-bench exact`: the exact path's seconds and GFLOP/s, full and causal mask side by side,
/// with the cost of dX.
enum ExactBenchmark {
  static let help = """
    usage: loragrad-bench exact [--quick] [--length L,…] [--heads H] [--mask M] [--repeats K]
                                [--precision P,…] [--query-block B_r] [--key-block B_c] [--no-dx-cost]
                                [--out DIR] [--threads N] [--backend B] [--isa I]

    Times the exact loss + q, k, v adapter gradients + dX (N = 1, D = 64, r = 8) for
    L ∈ {1024, 4096, 16384} × H ∈ {1, 4}, with the full mask and with the causal mask, in one run:
    the median of K runs after the first call (reported as well: the case's first call in this
    process, its buffers fresh; `loragrad grad` one-shot adds process start and reading the
    files), GFLOP/s counted as 12·D per visible query-key pair
    (12·N·L²·D for the full mask), the causal speedup, the cost of dX (the same run without dX),
    the process's peak RSS, and each rate as a share of this machine's SGEMM roof measured at the
    start of the same run (our kernels and NumPy's BLAS at the same thread count; see `roof`); bf16
    rows are shares of the native bf16 pair product's roof where the CPU has one. With several
    lengths, each row's rate is also given against the first length's (same H, mask, precision):
    the length target's ratio, measured in one run.

    options:
      --quick              L ∈ {1024, 4096} only
      --length L,…         these lengths instead of the sweep (e.g. 8192,65536)
      --heads H            one head count instead of {1, 4}
      --mask M             full, causal or both (default both)
      --repeats K          timed runs per case (default 3; 1 for L > 16384)
      --precision P,…      float32 and/or bf16 (default float32); with both, each bf16 row gives
                           its speedup over the float32 row of the same case
      --query-block B_r    rows of a query block (default: the blocking table, ExactBlocking)
      --key-block B_c      rows of a key block (default: the blocking table, by head width)
      --no-dx-cost         skip the runs without dX (half the time at long L; their two columns read —)
      --out DIR            also write DIR/exact.csv
    \(Roof.help)
    \(ExecutionArguments.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let onlyLengths = try arguments.option("--length").map { text -> [Int] in
      try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
        guard let value = Int(part), value >= 1 else {
          throw LoRAGradError.invalidArgument(argument: "--length", expected: "integers ≥ 1, comma-separated", given: "'\(text)'")
        }
        return value
      }
    }
    let masks: [Bool]
    switch try arguments.option("--mask") ?? "both" {
    case "full": masks = [false]
    case "causal": masks = [true]
    case "both": masks = [false, true]
    case let other: throw LoRAGradError.invalidArgument(argument: "--mask", expected: "full, causal or both", given: "'\(other)'")
    }
    let dxCost = !arguments.flag("--no-dx-cost")
    let onlyHeads = try arguments.option("--heads").map { text -> Int in
      guard let value = Int(text), value >= 1, 64 % value == 0 else {
        throw LoRAGradError.invalidArgument(argument: "--heads", expected: "a divisor of 64", given: "'\(text)'")
      }
      return value
    }
    let repeats = try arguments.integer("--repeats", default: 3, in: 1...100)
    let precisions = try (arguments.option("--precision") ?? "float32").split(separator: ",").map { name -> ExactPrecision in
      guard let precision = ExactPrecision(name: String(name)) else {
        throw LoRAGradError.invalidArgument(argument: "--precision", expected: "float32 and/or bf16, comma-separated", given: "'\(name)'")
      }
      return precision
    }
    let queryBlock = try arguments.option("--query-block").map { try Self.block($0, "--query-block") }
    let keyBlock = try arguments.option("--key-block").map { try Self.block($0, "--key-block") }
    let output = try arguments.option("--out")
    let python = try Roof.python(&arguments)
    let options = try ExecutionArguments(&arguments).options
    try arguments.finish()
    let machine = MachineDescription.current
    let roof = try Roof.measure(instructionSet: options.instructionSet, threads: options.parallelism.threads, python: python)
    // The bf16 rows' roof: the native bf16 pair product where the kernels have it, else the Float32 roof.
    let bf16Roof = precisions.contains(.bfloat16) && options.instructionSet.multipliesBFloat16
      ? try SGEMMRoof.measure(instructionSet: options.instructionSet, threads: options.parallelism.threads, precision: .bfloat16).gflops
      : roof.gflops

    let lengths = onlyLengths ?? (quick ? [1024, 4096] : [1024, 4096, 16384])
    let headCounts = onlyHeads.map { [$0] } ?? [1, 4]
    var table = CSVTable(columns: [
      "length", "width", "heads", "mask", "threads", "backend", "kernels", "seconds", "first_call_seconds", "gflops", "seconds_without_dx",
      "dx_overhead", "causal_speedup", "precision", "bf16_speedup", "rate_vs_first_length", "query_block", "key_block", "loss", "peak_rss_mb", "roof_gflops", "roof_share", "processor", "vector_class",
    ])
    print("exact path, N = 1, D = 64, r = 8, q,k,v adapted, loss + adapter gradients + dX, \(options.parallelism), kernels \(options.instructionSet.rawValue)")
    print("machine: \(machine.processor), vector class \(machine.vectorClass); \(roof.summary)")
    if precisions.contains(.bfloat16) {
      print("bf16 rows: shares of the \(options.instructionSet.multipliesBFloat16 ? "native bf16 pair product's" : "Float32") roof, \(formatted(bf16Roof, digits: 4)) GFLOP/s")
    }
    print("     L   H  mask   precision    seconds   first call   GFLOP/s   of roof   without dX   dX cost   causal speedup   bf16 speedup   vs L₀   peak RSS   B_r × B_c")
    // The first length's rate per (H, mask, precision), against which the later lengths' are given.
    var firstRates: [String: Double] = [:]
    for (lengthIndex, length) in lengths.enumerated() {
      for heads in headCounts {
        var fullSeconds: [ExactPrecision: Double] = [:]
        for causal in masks {
          var float32Seconds: Double?
          for precision in precisions {
          var tiling = FlashTiling(precision: precision)
          if let queryBlock { tiling.queryBlock = queryBlock }
          if let keyBlock { tiling.keyBlock = keyBlock }
          let method = AttentionMethod.exact(tiling)
          let blocks = tiling.resolved(for: options.instructionSet, headWidth: 64 / heads, length: length)
          let problem = try DemoProblems.exact(length: length, heads: heads, causal: causal)
          let runs = length > 16384 ? 1 : repeats
          var loss = 0.0
          // The case's first call in this process (its buffers fresh at this size; the process's first
          // case also starts the workers), then the warm median (beyond L = 16384 the one run is the first).
          let first = try Stopwatch.measure { loss = try problem.gradients(method: method, options: options).loss ?? .nan }.seconds
          let seconds = length > 16384 ? first : try Measurement.medianSeconds(runs: runs, warmUp: 0) {
            loss = try problem.gradients(method: method, options: options).loss ?? .nan
          }
          let withoutDX = dxCost ? try Measurement.medianSeconds(runs: runs, warmUp: 0) {
            _ = try problem.gradients(method: method, inputGradient: false, options: options)
          } : Double.nan
          let gflops = CostModel.exactFlops(problem.shape) / seconds / 1e9
          let rowRoof = precision == .bfloat16 ? bf16Roof : roof.gflops
          let overhead = seconds / withoutDX - 1
          let rateKey = "\(heads) \(causal) \(precision.name)"
          if lengthIndex == 0 { firstRates[rateKey] = gflops }
          let againstFirst = lengths.count > 1 ? firstRates[rateKey].map { gflops / $0 } : nil
          let speedup = causal ? fullSeconds[precision].map { $0 / seconds } : nil
          let bf16Speedup = precision == .bfloat16 ? float32Seconds.map { $0 / seconds } : nil
          let rss = Double(peakResidentBytes()) / 1e6
          print(String(format: "%6d %3d  %@ %@ %10.4f %12.4f %9.1f %8.1f%% %@ %@ %@ %@ %@ %8.0f MB %6d × %d", length, heads, (causal ? "causal" : "full  ") as NSString,
                       cell(precision.name, 9), seconds, first, gflops, 100 * gflops / rowRoof,
                       cell(dxCost ? String(format: "%.4f", withoutDX) : "—", 12), cell(dxCost ? String(format: "%.1f%%", 100 * overhead) : "—", 9),
                       cell(speedup.map { String(format: "%.2f×", $0) } ?? "—", 16), cell(bf16Speedup.map { String(format: "%.2f×", $0) } ?? "—", 14),
                       cell(againstFirst.map { String(format: "%.2f×", $0) } ?? "—", 7), rss, blocks.queryBlock ?? 0, blocks.keyBlock ?? 0))
          table.append([String(length), "64", String(heads), causal ? "causal" : "full", String(options.parallelism.threads),
                        options.parallelism.backendName, options.instructionSet.rawValue, String(seconds), String(first), String(gflops),
                        dxCost ? String(withoutDX) : "", dxCost ? String(overhead) : "", speedup.map { String($0) } ?? "", precision.name,
                        bf16Speedup.map { String($0) } ?? "", againstFirst.map { String($0) } ?? "", String(blocks.queryBlock ?? 0), String(blocks.keyBlock ?? 0), String(loss), String(rss),
                        String(rowRoof), String(gflops / rowRoof), machine.processor, machine.vectorClass])
          if !causal { fullSeconds[precision] = seconds }
          if precision == .float32 { float32Seconds = seconds }
          }
        }
      }
    }
    if let output { try table.write(to: output, name: "exact.csv") }
  }

  /// A block size option: a positive multiple of 16.
  static func block(_ text: String, _ name: String) throws -> Int {
    guard let value = Int(text), value >= 16, value % 16 == 0 else {
      throw LoRAGradError.invalidArgument(argument: name, expected: "a positive multiple of 16", given: "'\(text)'")
    }
    return value
  }
}
