import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad-bench calibrate`: the kernel rates behind the cost model, measured on one thread.
enum CalibrateBenchmark {
  static let help = """
    usage: loragrad-bench calibrate [--write] [--quick] [--out DIR]

    Measures, on one thread, the exact path's rate (flops counted as CostModel.exactFlops,
    12·N·L²·D, at L = 2048, D = 64, H ∈ {1, 4}) and the polynomial path's rate (its GEMM flops, at
    L = 16384, h = 16, R = 0.5) plus its fixed overhead (at L = 512), and prints them with the
    nominal model. --write saves them to \(CalibrationFile.defaultPath) (or $LORAGRAD_CALIBRATION),
    which the command-line tools then use to choose between the paths (the library's own default
    stays the nominal model). --out DIR also writes DIR/calibrate.csv.
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
      var saved = model
      saved.source = "\(CalibrationFile.defaultPath) (\(ISO8601DateFormatter().string(from: Date())))"
      try CalibrationFile.write(saved, path: CalibrationFile.defaultPath)
      print("wrote \(CalibrationFile.defaultPath)")
    }
  }

  /// Measures the three numbers of the cost model on one thread.
  static func measure(quick: Bool) throws -> CostModel {
    let serial = ExecutionOptions.dispatch(threads: 1)
    var exactRates: [Double] = []
    for heads in [1, 4] {
      let problem = try DemoProblems.exact(length: quick ? 1024 : 2048, heads: heads)
      let seconds = try Measurement.medianSeconds(runs: 3, warmUp: 1) { _ = try problem.gradients(method: .exact, options: serial) }
      exactRates.append(CostModel.exactFlops(problem.shape) / seconds)
    }
    let method = AttentionMethod.polynomial(tolerance: 1e-3)
    let long = try DemoProblems.polynomial(length: quick ? 4096 : 16384)
    let short = try DemoProblems.polynomial(length: 512)
    let featureCount = try long.regime(tolerance: 1e-3).polynomial?.featureCount ?? 969
    let longSeconds = try Measurement.medianSeconds(runs: 3, warmUp: 1) { _ = try long.gradients(method: method, options: serial) }
    let shortSeconds = try Measurement.medianSeconds(runs: 5, warmUp: 1) { _ = try short.gradients(method: method, options: serial) }
    let longFlops = CostModel.polynomialFlops(long.shape, featureCount: featureCount, chunkRows: 0)
    let shortFlops = CostModel.polynomialFlops(short.shape, featureCount: featureCount, chunkRows: 0)
    let rate = (longFlops - shortFlops) / max(longSeconds - shortSeconds, 1e-6)
    let overhead = max(0, shortSeconds - shortFlops / rate)
    return CostModel(
      exactFlopRate: exactRates.reduce(0, +) / Double(exactRates.count), polynomialFlopRate: rate,
      polynomialOverhead: overhead, source: "measured")
  }
}
