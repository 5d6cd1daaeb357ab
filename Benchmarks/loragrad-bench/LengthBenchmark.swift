import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad-bench length`: time against L for both paths, with fitted slopes and the crossover.
enum LengthBenchmark {
  static let help = """
    usage: loragrad-bench length [--quick] [--max-length L] [--exact-up-to L] [--bound R] [--out DIR]
                                 [--threads N] [--backend B]

    Powers of two L from 1024 (N = 1, D = 16, H = 1 so h = 16, r = 8, R = 0.5, ε = 1e-3): seconds of
    both paths, the least-squares slopes of log time against log L, and the crossover length
    where the polynomial path starts to win. Defaults: up to L = 262144, exact up to 131072;
    --quick: up to 32768. With --out: DIR/length.csv and DIR/length.svg (log-log).
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let maxLength = try arguments.integer("--max-length", default: quick ? 32768 : 262_144, in: 1024...(1 << 24))
    let exactLimit = try arguments.integer("--exact-up-to", default: quick ? 32768 : 131_072, in: 0...(1 << 24))
    let bound = try arguments.number("--bound", default: 0.5, expected: "a number > 0") { $0 > 0 && $0.isFinite }
    let output = try arguments.option("--out")
    let options = try ExecutionArguments(&arguments).options
    try arguments.finish()
    let parallelism = options.parallelism
    var table = CSVTable(columns: ["length", "exact_seconds", "poly_seconds", "degree", "rank"])
    var exactPoints: [(x: Double, y: Double)] = [], polyPoints: [(x: Double, y: Double)] = []
    print("      L   exact s    poly s  deg  rank   (h = 16, R = \(bound), \(parallelism))")
    var length = 1024
    while length <= maxLength {
      standardError("length: L = \(length)…")
      let problem = try DemoProblems.polynomial(length: length, bound: bound)
      let runs = length <= 16384 ? 3 : 1
      var regime: Regime?
      let poly = try Measurement.medianSeconds(runs: runs, warmUp: length <= 16384 ? 1 : 0) {
        regime = try problem.gradients(method: .polynomial(tolerance: 1e-3), options: options).regime
      }
      var exact: Double?
      if length <= exactLimit {
        exact = try Measurement.medianSeconds(runs: runs, warmUp: length <= 16384 ? 1 : 0) {
          _ = try problem.gradients(method: .exact, options: options)
        }
        exactPoints.append((Double(length), exact!))
      }
      polyPoints.append((Double(length), poly))
      let report = regime?.polynomial
      print(String(format: "%7d %@ %9.4f %4d %5d", length, cell(exact.map { String(format: "%.4f", $0) } ?? "—", 9), poly,
                   report?.degree ?? -1, report?.featureCount ?? -1))
      table.append([String(length), exact.map { String($0) } ?? "", String(poly), String(report?.degree ?? -1), String(report?.featureCount ?? -1)])
      length *= 2
    }
    let exactSlope = Measurement.logLogSlope(exactPoints.filter { $0.x >= 4096 })
    let polySlope = Measurement.logLogSlope(polyPoints.filter { $0.x >= 16384 })
    let crossover = crossoverLength(exact: exactPoints, poly: polyPoints)
    print("slopes of log time against log L: exact \(exactSlope.map { formatted($0, digits: 3) } ?? "—") (L ≥ 4096), "
      + "poly \(polySlope.map { formatted($0, digits: 3) } ?? "—") (L ≥ 16384); crossover L ≈ \(crossover.map { formatted($0, digits: 3) } ?? "not reached")")
    var chart = SVGChart(title: "Time against sequence length (h = 16, R = \(bound), ε = 1e-3, \(parallelism))",
                         xLabel: "sequence length L", yLabel: "seconds", xScale: .logarithmic, yScale: .logarithmic)
    chart.series.append(SVGChart.Series(name: "exact (slope \(exactSlope.map { formatted($0, digits: 3) } ?? "—"))", points: exactPoints, dashed: false, showsMarkers: true))
    chart.series.append(SVGChart.Series(name: "polynomial (slope \(polySlope.map { formatted($0, digits: 3) } ?? "—"))", points: polyPoints, dashed: false, showsMarkers: true))
    if let crossover { chart.annotations.append((crossover, "crossover L ≈ \(formatted(crossover, digits: 3))")) }
    try Measurement.write(table: table, name: "length.csv", charts: [("length.svg", chart)], to: output)
  }

  /// The L where the two measured curves cross, interpolated in log-log between neighbours.
  static func crossoverLength(exact: [(x: Double, y: Double)], poly: [(x: Double, y: Double)]) -> Double? {
    let paired = exact.compactMap { e in poly.first { $0.x == e.x }.map { (x: e.x, ratio: log(e.y / $0.y)) } }
    for (a, b) in zip(paired, paired.dropFirst()) where a.ratio < 0 && b.ratio >= 0 {
      let t = -a.ratio / (b.ratio - a.ratio)
      return exp(log(a.x) + t * (log(b.x) - log(a.x)))
    }
    return paired.first.flatMap { $0.ratio >= 0 ? $0.x : nil }
  }
}
