import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad-bench phase`: the phase-transition map of the polynomial method.
enum PhaseBenchmark {
  static let help = """
    usage: loragrad-bench phase [--quick] [--lengths LIST] [--head-widths LIST] [--bounds LIST] [--tol ε]
                                [--measure-seconds S] [--spot-checks N] [--gradient-tol δ] [--memory-budget MB]
                                [--out DIR]
                                [--threads N] [--backend B] [--isa I]

    For each head width h (D = h, H = 1, N = 1, r = 8, full mask), each L and each input scale R:
    Γ (paper-style entry bound), the degree and feature count that meet ε, the seconds of both
    paths, and whether the polynomial path wins. A path is timed where this run's model predicts
    at most S seconds (--measure-seconds, default 60); beyond, the model's prediction is used and
    the CSV marks it "predicted". The model is calibrated in the same run: flops (CostModel's
    counts) over the rate of the largest timed case of that path and h. The exact path is timed
    once per (h, L) (its cost does not depend on R); the polynomial path once per (h, L, degree)
    where it costs over 2 s, at every R below that. Then --spot-checks N (default 2) times the
    exact path at the first predicted length of the first N head widths, to test the prediction.
    Each polynomial run reports the bound on P̃, the kernel's P̃ error on 8 sampled rows and its
    largest gradient error bound (relative to the largest entry); where the exact path costs under
    a second, the observed gradient error too. Γ*(L) is the largest Γ where the polynomial path
    wins at ε (the P̃ bound ≤ ε); Γ*_grad(L) also asks every gradient bound ≤ δ (--gradient-tol,
    default 1e-2). --memory-budget caps the low-rank sums (default: the library's, 1024 MB).
    Per h, Γ*(L) is fitted to c·√(log L) (the paper's growth) and to a·L^b.
    Defaults: L = 2^10 … 2^22, h ∈ {8, 16, 32, 64}, R = 2^{k/4}, k = −12…8 (0.125 … 4);
    --quick: L ∈ {1024, 4096}, h ∈ {8, 16}, R = 2^{k/2}, k = −4…4.
    With --out: DIR/phase.csv, DIR/phase-gamma.svg (Γ*(L), measured and predicted, with the fits),
    DIR/phase-speedup.svg (speedup over L at R = 0.5 and 1).
    """

  /// How a time in the map was obtained.
  enum Source: String {
    case measured, sameDegree = "same-degree", predicted, spot
  }

  /// This run's rates: flops per second from the largest case timed so far, the exact path per h,
  /// the polynomial path per (h, degree) (its efficiency depends on the feature count), falling
  /// back to the largest polynomial case of that h, then to the nominal model on all threads.
  struct Rates {
    var exact: [Int: (flops: Double, seconds: Double)] = [:]
    var polynomial: [[Int]: (flops: Double, seconds: Double)] = [:]
    let fallback: CostModel
    let threads: Int

    func exactSeconds(_ flops: Double, h: Int) -> Double {
      exact[h].map { flops * $0.seconds / $0.flops } ?? flops / (fallback.exactFlopRate * Double(threads))
    }

    func polynomialSeconds(_ flops: Double, h: Int, degree: Int) -> Double {
      let timed = polynomial[[h, degree]] ?? polynomial.filter { $0.key[0] == h }.max { $0.value.flops < $1.value.flops }?.value
      return timed.map { flops * $0.seconds / $0.flops } ?? flops / (fallback.polynomialFlopRate * Double(threads))
    }

    mutating func record(exact flops: Double, seconds: Double, h: Int) {
      if flops >= exact[h]?.flops ?? 0 { exact[h] = (flops, seconds) }
    }

    mutating func record(polynomial flops: Double, seconds: Double, h: Int, degree: Int) {
      if flops >= polynomial[[h, degree]]?.flops ?? 0 { polynomial[[h, degree]] = (flops, seconds) }
    }
  }

  /// One polynomial run's results.
  struct PolynomialRun {
    var seconds: Double
    var observedError: Double?
    var gradientBound: Double?
    var observedGradientError: Double?
  }

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let lengths = try arguments.option("--lengths").map { try PolynomialBenchmark.positiveIntegers($0, option: "--lengths") }
      ?? (quick ? [1024, 4096] : (10...22).map { 1 << $0 })
    let widths = try arguments.option("--head-widths").map { try PolynomialBenchmark.positiveIntegers($0, option: "--head-widths") }
      ?? (quick ? [8, 16] : [8, 16, 32, 64])
    let grid: [Double] = quick ? (-4...4).map { pow(2, Double($0) / 2) } : (-12...8).map { pow(2, Double($0) / 4) }
    let bounds = try arguments.option("--bounds").map { try PolynomialBenchmark.positiveNumbers($0, option: "--bounds") } ?? grid
    let tolerance = try ToleranceOption.parse(&arguments)
    let measureSeconds = Double(try arguments.integer("--measure-seconds", default: 60, in: 0...86_400))
    let spotChecks = try arguments.integer("--spot-checks", default: quick ? 0 : 2, in: 0...64)
    let gradientTolerance = try arguments.option("--gradient-tol").map { try PolynomialBenchmark.positiveNumbers($0, option: "--gradient-tol") }?.first ?? 1e-2
    let budget = try arguments.integer("--memory-budget", default: PolynomialSettings(tolerance: tolerance).memoryBudget >> 20, in: 1...(1 << 20))
    let settings = PolynomialSettings(tolerance: tolerance, memoryBudget: budget << 20, checkRows: 8)
    let output = try arguments.option("--out")
    let options = try ExecutionArguments(&arguments).options
    try arguments.finish()
    var rates = Rates(fallback: .nominal, threads: options.parallelism.threads)
    var table = CSVTable(columns: [
      "head_width", "length", "bound", "gamma", "degree", "feature_count", "error_bound", "exact_s", "exact_source", "poly_s",
      "poly_source", "predicted_exact_s", "predicted_poly_s", "speedup", "poly_wins", "observed_error_p", "gradient_error_bound",
      "observed_gradient_error", "reason",
    ])
    var gammaChart = SVGChart(title: "Phase transition: largest Γ where the polynomial path wins (ε = \(tolerance), \(options.parallelism))",
                              xLabel: "sequence length L", yLabel: "Γ*(L)", xScale: .logarithmic, yScale: .linear)
    var speedupChart = SVGChart(title: "Speedup of the polynomial path over the exact path", xLabel: "sequence length L",
                                yLabel: "exact seconds / polynomial seconds", xScale: .logarithmic, yScale: .logarithmic)
    print("phase map, ε = \(tolerance), \(options.parallelism); * predicted, = timed at another R of the same degree")
    print("   h         L      R      Γ  deg   features   bound_P   exact s     poly s    speedup  grad bound")
    var summaries: [String] = []
    for h in widths {
      var gammaStar: [(x: Double, y: Double, predicted: Bool)] = []
      var boundStar: [(length: Int, bound: Double)] = []
      var gammaStarGradient: [(x: Double, y: Double)] = []
      var speedups: [Double: [(x: Double, y: Double)]] = [:]
      var lastMeasuredExact: Int?
      for length in lengths {
        var exactTime: (seconds: Double, source: Source)?
        var predictedExactBefore: Double?  // the model's exact seconds before this (h, L) was timed
        var byDegree: [Int: PolynomialRun] = [:]
        var best: (gamma: Double, predicted: Bool)?
        var bestBound: Double?
        var bestGradient: Double?
        let family = try RescalableProblem(length: length, width: h)
        for bound in bounds {
          standardError("phase: h = \(h), L = \(length), R = \(formatted(bound, digits: 3))…")
          let problem = try family.problem(bound: bound)
          let regime = try problem.regime(settings: settings, options: options)
          let exactFlops = CostModel.exactFlops(problem.shape)
          if predictedExactBefore == nil { predictedExactBefore = rates.exactSeconds(exactFlops, h: h) }
          let predictedExact = predictedExactBefore!
          if exactTime == nil {
            if predictedExact <= measureSeconds {
              let seconds = try Measurement.medianSeconds(runs: 1, warmUp: length <= 8192 ? 1 : 0) {
                _ = try problem.gradients(method: .exact, options: options)
              }
              rates.record(exact: exactFlops, seconds: seconds, h: h)
              exactTime = (seconds, .measured)
              lastMeasuredExact = length
            } else {
              exactTime = (predictedExact, .predicted)
            }
          }
          var poly: (run: PolynomialRun, source: Source)?
          var predictedPoly: Double?
          if let report = regime.polynomial {
            let flops = CostModel.polynomialFlops(problem.shape, featureCount: report.featureCount, chunkRows: report.chunkRows)
            predictedPoly = rates.polynomialSeconds(flops, h: h, degree: report.degree)
            if predictedPoly! <= 2 || (predictedPoly! <= measureSeconds && byDegree[report.degree] == nil) {
              let run = try timePolynomial(problem, settings: settings, options: options, compareExact: predictedExact <= 1)
              rates.record(polynomial: flops, seconds: run.seconds, h: h, degree: report.degree)
              byDegree[report.degree] = run
              poly = (run, .measured)
            } else if let run = byDegree[report.degree] {
              poly = (PolynomialRun(seconds: run.seconds), .sameDegree)
            } else {
              poly = (PolynomialRun(seconds: predictedPoly!), .predicted)
            }
          }
          let speedup = poly.map { exactTime!.seconds / $0.run.seconds }
          let wins = (speedup ?? 0) > 1
          let predicted = exactTime!.source == .predicted || poly?.source == .predicted
          let gamma = regime.norms.entryBound
          if wins, gamma > best?.gamma ?? 0 { best = (gamma, predicted) }
          if wins { bestBound = max(bestBound ?? 0, bound) }
          if wins, let gradientBound = poly?.run.gradientBound, gradientBound <= gradientTolerance { bestGradient = max(bestGradient ?? 0, gamma) }
          if let speedup, [0.5, 1].contains(bound) { speedups[bound, default: []].append((Double(length), speedup)) }
          let report = regime.polynomial
          let mark = { (source: Source?) in source == .predicted ? "*" : source == .sameDegree ? "=" : "" }
          print(String(format: "%4d %9d %6.3f %6.3f %@ %@ %@ %@ %@ %@ %@", h, length, bound, gamma,
                       cell(report.map { String($0.degree) } ?? "—", 4), cell(report.map { String($0.featureCount) } ?? "—", 10),
                       cell(report.map { String(format: "%.2e", $0.errorBound) } ?? "refused", 9),
                       cell(String(format: "%.3f%@", exactTime!.seconds, mark(exactTime!.source)), 9),
                       cell(poly.map { String(format: "%.3f%@", $0.run.seconds, mark($0.source)) } ?? "—", 10),
                       cell(speedup.map { String(format: "%.2f×", $0) } ?? "—", 10),
                       cell(poly?.run.gradientBound.map { String(format: "%.1e", $0) } ?? "—", 11)))
          let optional = { (value: Double?) in value.map { String($0) } ?? "" }
          let timeCells = [String(exactTime!.seconds), exactTime!.source.rawValue, optional(poly?.run.seconds), poly?.source.rawValue ?? ""]
          let modelCells = [String(predictedExact), optional(predictedPoly), optional(speedup), String(wins)]
          let errorCells = [optional(poly?.run.observedError), optional(poly?.run.gradientBound), optional(poly?.run.observedGradientError)]
          let planCells = [String(h), String(length), String(bound), String(gamma), report.map { String($0.degree) } ?? "",
                           report.map { String($0.featureCount) } ?? "", optional(report?.errorBound)]
          table.append(planCells + timeCells + modelCells + errorCells + [report == nil ? regime.reason : ""])
        }
        if let best { gammaStar.append((Double(length), best.gamma, best.predicted)) }
        if let bestBound { boundStar.append((length, bestBound)) }
        if let bestGradient { gammaStarGradient.append((Double(length), bestGradient)) }
      }
      // Spot check: the exact path at the first length the map predicted.
      if spotChecks > widths.firstIndex(of: h)!, let last = lastMeasuredExact, let length = lengths.first(where: { $0 > last }) {
        let problem = try RescalableProblem(length: length, width: h).problem(bound: bounds[0])
        let predictedExact = rates.exactSeconds(CostModel.exactFlops(problem.shape), h: h)
        standardError("phase: spot check of the exact path at h = \(h), L = \(length) (predicted \(formatted(predictedExact, digits: 3)) s)…")
        let seconds = try Measurement.medianSeconds(runs: 1) { _ = try problem.gradients(method: .exact, options: options) }
        let line = "spot check h = \(h), L = \(length): exact path predicted \(formatted(predictedExact, digits: 3)) s, measured \(formatted(seconds, digits: 3)) s"
        print(line)
        summaries.append(line)
        table.append([String(h), String(length), String(bounds[0]), "", "", "", "", String(seconds), Source.spot.rawValue, "", "",
                      String(predictedExact), "", "", "", "", "", "", ""])
      }
      let measured = gammaStar.filter { !$0.predicted }.map { (x: $0.x, y: $0.y) }
      let predicted = gammaStar.filter(\.predicted).map { (x: $0.x, y: $0.y) }
      gammaChart.series.append(SVGChart.Series(name: "Γ*(L), h = \(h), measured", points: measured, dashed: false, showsMarkers: true))
      if !predicted.isEmpty {
        gammaChart.series.append(SVGChart.Series(name: "Γ*(L), h = \(h), predicted", points: predicted, dashed: true, showsMarkers: true))
      }
      let points = gammaStar.map { (x: $0.x, y: $0.y) }
      var summary = "h = \(h): Γ*(L) = " + gammaStar.map { "\(Int($0.x))\($0.predicted ? "*" : "") → \(formatted($0.y, digits: 3))" }.joined(separator: ", ")
      if let fit = PhaseFit(points) {
        gammaChart.series.append(SVGChart.Series(
          name: "\(formatted(fit.logCoefficient, digits: 3))·√(log L), h = \(h)",
          points: lengths.map { (x: Double($0), y: fit.logCoefficient * log(Double($0)).squareRoot()) }, dashed: true, showsMarkers: false))
        summary += String(format: "; c·√(log L): c = %.3g (rms residual %.3g); a·L^b: a = %.3g, b = %.3g (rms %.3g)",
                          fit.logCoefficient, fit.logResidual, fit.powerCoefficient, fit.powerExponent, fit.powerResidual)
      }
      summary += "; R*(L) = " + boundStar.map { "\($0.length) → \(formatted($0.bound, digits: 3))" }.joined(separator: ", ")
      summary += "; Γ*_grad (every gradient bound ≤ \(gradientTolerance)): "
        + (gammaStarGradient.isEmpty ? "none" : gammaStarGradient.map { "\(Int($0.x)) → \(formatted($0.y, digits: 3))" }.joined(separator: ", "))
      print(summary)
      summaries.append(summary)
      for bound in [0.5, 1] {
        speedupChart.series.append(SVGChart.Series(name: "h = \(h), R = \(formatted(bound, digits: 2))", points: speedups[bound] ?? [],
                                                   dashed: bound != 0.5, showsMarkers: true))
      }
    }
    speedupChart.series.append(SVGChart.Series(name: "break-even", points: [(Double(lengths.min()!), 1), (Double(lengths.max()!), 1)],
                                               dashed: true, showsMarkers: false))
    for line in summaries { standardError(line) }
    try Measurement.write(table: table, name: "phase.csv", charts: [("phase-gamma.svg", gammaChart), ("phase-speedup.svg", speedupChart)], to: output)
  }

  /// One timed polynomial run (the time of its 8 check rows not counted), its largest gradient bound and, when asked, its
  /// largest observed gradient error against the exact path.
  static func timePolynomial(_ problem: AttentionProblem, settings: PolynomialSettings, options: ExecutionOptions, compareExact: Bool) throws -> PolynomialRun {
    var gradients: Gradients?
    let seconds = try Measurement.medianSeconds(runs: 1) {
      gradients = try problem.gradients(method: .polynomial(settings), options: options)
    }
    let poly = gradients!
    var run = PolynomialRun(seconds: seconds - (poly.check?.seconds ?? 0), observedError: poly.check?.probabilityError, gradientBound: poly.errorBounds?.values.max())
    if compareExact {
      let exact = try problem.gradients(method: .exact, options: options)
      var worst = 0.0
      for (projection, adapter) in exact.adapters {
        worst = max(worst, poly.adapters[projection]!.a.maxRelativeDifference(from: adapter.a),
                    poly.adapters[projection]!.b.maxRelativeDifference(from: adapter.b))
      }
      if let input = exact.input, let approximate = poly.input { worst = max(worst, approximate.maxRelativeDifference(from: input)) }
      run.observedGradientError = worst
    }
    return run
  }
}

/// Least-squares fits of Γ*(L): c·√(log L) (through the origin) and a·L^b (in log–log).
struct PhaseFit {
  let logCoefficient: Double
  let logResidual: Double
  let powerCoefficient: Double
  let powerExponent: Double
  let powerResidual: Double

  init?(_ points: [(x: Double, y: Double)]) {
    guard points.count >= 2, let b = Measurement.logLogSlope(points) else { return nil }
    let logs = points.map { log($0.x) }
    let c = zip(points, logs).map { $0.y * $1.squareRoot() }.reduce(0, +) / logs.reduce(0, +)
    let meanLogY = points.map { log($0.y) }.reduce(0, +) / Double(points.count)
    let meanLogX = logs.reduce(0, +) / Double(points.count)
    let a = exp(meanLogY - b * meanLogX)
    func rms(_ model: (Double) -> Double) -> Double {
      (points.map { pow($0.y - model($0.x), 2) }.reduce(0, +) / Double(points.count)).squareRoot()
    }
    logCoefficient = c
    logResidual = rms { c * log($0).squareRoot() }
    powerCoefficient = a
    powerExponent = b
    powerResidual = rms { a * pow($0, b) }
  }
}
