import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad-bench calibrate`: the kernel rates behind the cost model, measured on one thread.
enum CalibrateBenchmark {
  static let help = """
    usage: loragrad-bench calibrate [--write] [--quick] [--out DIR]

    Measures, on one thread, the exact path's rate (flops counted as 14·N·H·L²·h_padded, at
    L = 2048, D = 64, H ∈ {1, 4}) and the polynomial path's rate (its GEMM and feature flops, at
    L = 16384, h = 16, R = 0.5) plus its fixed overhead (at L = 512), and prints them with the
    nominal model. --write saves them to \(CostModel.calibrationPath) (or $LORAGRAD_CALIBRATION),
    which `loragrad` then uses to choose between the paths. --out DIR also writes
    DIR/calibrate.csv (one row per model: nominal and measured).
    """

  static func run(_ arguments: inout Arguments) throws {
    let write = arguments.flag("--write")
    let quick = arguments.flag("--quick")
    let output = try arguments.option("--out")
    try arguments.finish()
    let model = try measure(quick: quick)
    print("cost model          exact flop/s/thread   poly flop/s/thread   poly overhead s")
    var table = CSVTable(columns: ["model", "exact_flops_per_second_per_thread", "poly_flops_per_second_per_thread", "poly_overhead_seconds"])
    for (name, m) in [("nominal", CostModel.nominal), ("measured", model)] {
      print(String(format: "%@ %20.3e %20.3e %16.4f", name.padding(toLength: 18, withPad: " ", startingAt: 0) as NSString,
                   m.exactFlopRate, m.polynomialFlopRate, m.polynomialOverhead))
      table.append([name, String(m.exactFlopRate), String(m.polynomialFlopRate), String(m.polynomialOverhead)])
    }
    try Measurement.write(table: table, name: "calibrate.csv", charts: [], to: output)
    if write {
      let path = CostModel.calibrationPath
      let url = URL(fileURLWithPath: path)
      var saved = model
      saved.source = "\(path) (\(ISO8601DateFormatter().string(from: Date())))"
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      let data = try encoder.encode(saved)
      try AtomicWrite.write([(name: url.lastPathComponent, bytes: Array(data))], into: url.deletingLastPathComponent().path)
      print("wrote \(path)")
    }
  }

  /// Measures the three numbers of the cost model on one thread.
  static func measure(quick: Bool) throws -> CostModel {
    let serial = Parallelism.dispatch(threads: 1)
    var exactRates: [Double] = []
    for heads in [1, 4] {
      let problem = try AttentionProblem.synthetic(length: quick ? 1024 : 2048, width: 64, heads: heads, rank: 8, seed: 1)
      let seconds = try Measurement.medianSeconds(runs: 3, warmUp: 1) { _ = try problem.gradients(method: .exact, parallelism: serial) }
      exactRates.append(CostModel.exactFlops(problem) / seconds)
    }
    let method = GradientMethod.polynomial(tolerance: 1e-3)
    let long = try AttentionProblem.synthetic(length: quick ? 4096 : 16384, width: 16, heads: 1, rank: 8, normBound: 0.5, seed: 1)
    let short = try AttentionProblem.synthetic(length: 512, width: 16, heads: 1, rank: 8, normBound: 0.5, seed: 1)
    let rank = try long.regime(tolerance: 1e-3).polynomial?.rank ?? 969
    let longSeconds = try Measurement.medianSeconds(runs: 3, warmUp: 1) { _ = try long.gradients(method: method, parallelism: serial) }
    let shortSeconds = try Measurement.medianSeconds(runs: 5, warmUp: 1) { _ = try short.gradients(method: method, parallelism: serial) }
    let longFlops = CostModel.polynomialFlops(rows: Double(long.sequenceLength), rank: rank, headWidth: 16)
    let shortFlops = CostModel.polynomialFlops(rows: Double(short.sequenceLength), rank: rank, headWidth: 16)
    let rate = (longFlops - shortFlops) / max(longSeconds - shortSeconds, 1e-6)
    let overhead = max(0, shortSeconds - shortFlops / rate)
    return CostModel(
      exactFlopRate: exactRates.reduce(0, +) / Double(exactRates.count), polynomialFlopRate: rate,
      polynomialOverhead: overhead, source: "measured")
  }
}
