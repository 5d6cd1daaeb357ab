import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad-bench phase`: the phase-transition map of the polynomial method.
enum PhaseBenchmark {
  static let help = """
    usage: loragrad-bench phase [--quick] [--lengths LIST] [--head-widths LIST] [--tol ε] [--out DIR]
                                [--threads N] [--backend B]

    For each L and head width h (D = h, H = 1, N = 1, r = 8), sweeps the input scale so that
    R = 2^{k/2}, k = −4…6 (0.25 … 8): Γ, degree, rank, predicted and measured seconds of both
    paths, and the observed error on 8 sampled rows. The exact path is timed once per (L, h)
    (its cost does not depend on R); the polynomial path is timed where its predicted time is
    below 3× the exact one, otherwise its prediction is used. Γ*(L) is the largest Γ at which the
    polynomial path still wins at ε; it is fitted against c·√(log L), the growth the theory
    predicts. Defaults: L ∈ {4096, 16384, 65536}, h ∈ {8, 16}; --quick: L ∈ {2048, 8192}.
    With --out: DIR/phase.csv, DIR/phase-gamma.svg (Γ*(L) and the fit), DIR/phase-speedup.svg.
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let lengths = try arguments.option("--lengths").map { try PolynomialBenchmark.positiveIntegers($0, option: "--lengths") } ?? (quick ? [2048, 8192] : [4096, 16384, 65536])
    let widths = try arguments.option("--head-widths").map { try PolynomialBenchmark.positiveIntegers($0, option: "--head-widths") } ?? [8, 16]
    let tolerance = try ToleranceOption.parse(&arguments)
    let output = try arguments.option("--out")
    let options = try ExecutionArguments(&arguments).options
    try arguments.finish()
    let parallelism = options.parallelism
    let bounds = (-4...6).map { pow(2, Double($0) / 2) }
    var table = CSVTable(columns: ["head_width", "length", "bound", "gamma", "degree", "rank", "predicted_exact_s", "predicted_poly_s",
                                   "exact_s", "poly_s", "poly_measured", "speedup", "observed_error_p", "poly_wins"])
    var gammaChart = SVGChart(title: "Phase transition: largest Γ where the polynomial path wins (ε = \(tolerance))",
                              xLabel: "sequence length L", yLabel: "Γ*(L)", xScale: .logarithmic, yScale: .linear)
    var speedupChart = SVGChart(title: "Speedup of the polynomial path over the exact path", xLabel: "norm bound R",
                                yLabel: "exact seconds / polynomial seconds", xScale: .logarithmic, yScale: .logarithmic)
    print("   h       L       R      Γ  deg    rank   exact s    poly s   speedup  observed")
    for h in widths {
      var gammaStar: [(x: Double, y: Double)] = []
      for length in lengths {
        var exactSeconds: Double?
        var speedups: [(x: Double, y: Double)] = []
        var best: Double?
        for bound in bounds {
          standardError("phase: h = \(h), L = \(length), R = \(formatted(bound, digits: 3))…")
          let problem = try DemoProblems.polynomial(length: length, bound: bound, width: h)
          let regime = try problem.regime(tolerance: tolerance, options: options)
          if exactSeconds == nil {
            exactSeconds = try Measurement.medianSeconds(runs: 1, warmUp: length <= 8192 ? 1 : 0) {
              _ = try problem.gradients(method: .exact, options: options)
            }
          }
          var polySeconds = regime.predictedPolynomialSeconds
          var measured = false
          var observed: Double?
          if let predicted = regime.predictedPolynomialSeconds, predicted < 3 * exactSeconds! {
            var check: PolynomialCheck?
            polySeconds = try Measurement.medianSeconds(runs: 1) {
              check = try problem.gradients(method: .polynomial(PolynomialSettings(tolerance: tolerance, checkRows: 8)), options: options).check
            }
            measured = true
            observed = check?.probabilityError
          }
          let speedup = polySeconds.map { exactSeconds! / $0 }
          let wins = (speedup ?? 0) > 1
          if wins { best = max(best ?? 0, regime.norms.entryBound) }
          if let speedup { speedups.append((bound, speedup)) }
          let report = regime.polynomial
          print(String(format: "%4d %7d %7.3f %6.3f %@ %@ %9.3f %@ %@ %@", h, length, bound, regime.norms.entryBound,
                       cell(report.map { String($0.degree) } ?? "—", 4), cell(report.map { String($0.featureCount) } ?? "—", 7),
                       exactSeconds!, cell(polySeconds.map { String(format: "%.3f%@", $0, measured ? "" : "*") } ?? "—", 9),
                       cell(speedup.map { String(format: "%.2f×", $0) } ?? "—", 9),
                       cell(observed.map { String(format: "%.1e", $0) } ?? "—", 9)))
          table.append([String(h), String(length), String(bound), String(regime.norms.entryBound), report.map { String($0.degree) } ?? "",
                        report.map { String($0.featureCount) } ?? "", String(regime.predictedExactSeconds),
                        regime.predictedPolynomialSeconds.map { String($0) } ?? "", String(exactSeconds!),
                        polySeconds.map { String($0) } ?? "", String(measured), speedup.map { String($0) } ?? "",
                        observed.map { String($0) } ?? "", String(wins)])
        }
        if let best { gammaStar.append((Double(length), best)) }
        speedupChart.series.append(SVGChart.Series(name: "h = \(h), L = \(length)", points: speedups, dashed: h != widths.first, showsMarkers: true))
      }
      gammaChart.series.append(SVGChart.Series(name: "Γ*(L), h = \(h) (measured)", points: gammaStar, dashed: false, showsMarkers: true))
      // Least squares for Γ* ≈ c·√(log L): c = Σ Γ* √log L / Σ log L.
      let denominator = gammaStar.map { log($0.x) }.reduce(0, +)
      if denominator > 0 {
        let c = gammaStar.map { $0.y * log($0.x).squareRoot() }.reduce(0, +) / denominator
        let fit = lengths.map { (x: Double($0), y: c * log(Double($0)).squareRoot()) }
        gammaChart.series.append(SVGChart.Series(name: "\(formatted(c, digits: 3))·√(log L), h = \(h)", points: fit, dashed: true, showsMarkers: false))
        print("h = \(h): Γ*(L) = " + gammaStar.map { "\(Int($0.x)) → \(formatted($0.y, digits: 3))" }.joined(separator: ", ")
          + "; fit c·√(log L) with c = \(formatted(c, digits: 3))")
      }
    }
    speedupChart.series.append(SVGChart.Series(name: "break-even", points: [(bounds.first!, 1), (bounds.last!, 1)], dashed: true, showsMarkers: false))
    try Measurement.write(table: table, name: "phase.csv", charts: [("phase-gamma.svg", gammaChart), ("phase-speedup.svg", speedupChart)], to: output)
  }
}
