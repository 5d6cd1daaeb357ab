import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad-bench exact`: the exact path's seconds and GFLOP/s on the shapes.
enum ExactBenchmark {
  static let help = """
    usage: loragrad-bench exact [--quick] [--length L] [--heads H] [--repeats K] [--out DIR]
                                [--threads N] [--backend B]

    Times the exact loss + q, k, v adapter gradients (N = 1, D = 64, r = 8) for
    L ∈ {1024, 4096, 16384} × H ∈ {1, 4}, reporting the median of K runs after one warm-up,
    GFLOP/s counted as 12·N·L²·D, and the process's peak RSS.

    options:
      --quick              L ∈ {1024, 4096} only
      --length L           one length instead of the sweep (e.g. 65536)
      --heads H            one head count instead of {1, 4}
      --repeats K          timed runs per case (default 3; 1 for L > 16384)
      --out DIR            also write DIR/exact.csv
    \(ParallelismOptions.help)
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
    let options = try ParallelismOptions(&arguments)
    try arguments.finish()

    let lengths = onlyLength.map { [$0] } ?? (quick ? [1024, 4096] : [1024, 4096, 16384])
    let headCounts = onlyHeads.map { [$0] } ?? [1, 4]
    let parallelism = options.parallelism
    var table = CSVTable(columns: ["length", "width", "heads", "threads", "backend", "kernels", "seconds", "gflops", "loss", "peak_rss_mb"])
    print("exact path, N = 1, D = 64, r = 8, q,k,v adapted, \(parallelism), kernels \(KernelInstructionSet.active.rawValue)")
    print("     L   H    seconds   GFLOP/s   peak RSS")
    for length in lengths {
      for heads in headCounts {
        let problem = try AttentionProblem.synthetic(length: length, width: 64, heads: heads, rank: 8, seed: 0)
        let runs = length > 16384 ? 1 : repeats
        if length <= 16384 { _ = try problem.gradients(method: .exact, parallelism: parallelism) }
        var times: [Double] = []
        var loss = 0.0
        for _ in 0..<runs {
          let (result, seconds) = try Stopwatch.measure { try problem.gradients(method: .exact, parallelism: parallelism) }
          times.append(seconds)
          loss = result.loss
        }
        let median = times.sorted()[times.count / 2]
        let gflops = problem.exactFlopCount / median / 1e9
        let rss = Double(peakResidentBytes()) / 1e6
        print(String(format: "%6d %3d %10.4f %9.1f %8.0f MB", length, heads, median, gflops, rss))
        table.append([String(length), "64", String(heads), String(parallelism.threads), parallelism.backend.name,
                      KernelInstructionSet.active.rawValue, String(median), String(gflops), String(loss), String(rss)])
      }
    }
    if let output { try table.write(to: output, name: "exact.csv") }
  }
}
