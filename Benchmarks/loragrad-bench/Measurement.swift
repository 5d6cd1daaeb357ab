import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// Timing helpers shared by the sweeps.
enum Measurement {
  /// The median seconds of `runs` runs of `body` (after `warmUp` untimed runs).
  static func medianSeconds(runs: Int, warmUp: Int = 0, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmUp { try body() }
    var times: [Double] = []
    for _ in 0..<max(runs, 1) { times.append(try Stopwatch.measure(body).seconds) }
    return median(times)
  }

  /// The median of `values` (the upper one of an even count).
  static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

  /// Each of `calls` once in turn, timed as its first call, then `rounds` rounds in which every
  /// call runs once in turn, so that a slow minute of a shared host falls on all of them alike:
  /// the first calls' seconds and each call's seconds per round.
  static func interleaved(rounds: Int, _ calls: [() throws -> Void]) throws -> (first: [Double], rounds: [[Double]]) {
    let first = try calls.map { try Stopwatch.measure($0).seconds }
    var seconds = [[Double]](repeating: [], count: calls.count)
    for _ in 0..<rounds {
      for (index, call) in calls.enumerated() { seconds[index].append(try Stopwatch.measure(call).seconds) }
    }
    return (first, seconds)
  }

  /// The least-squares slope of log(y) against log(x) (the exponent of a power law).
  static func logLogSlope(_ points: [(x: Double, y: Double)]) -> Double? {
    let valid = points.filter { $0.x > 0 && $0.y > 0 }
    guard valid.count >= 2 else { return nil }
    let xs = valid.map { log($0.x) }, ys = valid.map { log($0.y) }
    let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
    let sxy = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
    let sxx = xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
    return sxx > 0 ? sxy / sxx : nil
  }

  /// Writes the table and chart into `directory` when one was given.
  static func write(table: CSVTable, name: String, charts: [(String, SVGChart)], to directory: String?) throws {
    guard let directory else { return }
    try table.write(to: directory, name: name)
    for (file, chart) in charts {
      try AtomicWrite.write([(name: file, bytes: Array(chart.svg.utf8))], into: directory)
    }
    standardError("wrote \(directory)/\(name)" + charts.map { " \(directory)/\($0.0)" }.joined())
  }
}
