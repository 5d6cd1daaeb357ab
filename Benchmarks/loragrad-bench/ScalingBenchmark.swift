import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO
import LoRAGradOpenMP

/// `loragrad-bench scaling`: thread counts × both backends × both paths, the counts interleaved.
enum ScalingBenchmark {
  static let help = """
    usage: loragrad-bench scaling [--quick] [--max-threads N] [--thread-counts T,…] [--rounds K] [--out DIR]

    For threads 1…N (N = the number of cores, \(activeProcessorCount) here, or --max-threads; or the
    counts of --thread-counts, e.g. 1,2,4,8,16), both backends (dispatch, openmp) and both paths —
    exact at N = 1, L = 4096, D = 64, H = 1 and polynomial at L = 65536, h = 16, R = 0.5, ε = 1e-3
    (--quick: L = 2048 and 16384), and where the CPU multiplies bf16 natively (avx512f+bf16) the
    exact path with bf16 products too. Per path and backend: a first call at each count (timed
    and reported, not counted in the rounds), then K rounds (default 5) in which every count runs
    once in turn, so a slow minute of a shared host falls on all counts alike; the least and
    median seconds, the speedup over the first count given (CSV base_threads) from the least
    (min/min) and from the medians, and the parallel efficiency of the min/min speedup.
    --max-threads and --thread-counts exclude each other.
    With --out: DIR/scaling.csv and DIR/scaling.svg (min/min speedup against threads, with the ideal line).
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let maxThreadsOption = try arguments.integer("--max-threads", default: 0, in: 1...1024)  // 0: not given
    let maxThreads = maxThreadsOption > 0 ? maxThreadsOption : activeProcessorCount
    let countsText = try arguments.option("--thread-counts")
    if countsText != nil && maxThreadsOption > 0 {
      throw LoRAGradError.invalidArgument(argument: "--thread-counts", expected: "either --thread-counts or --max-threads", given: "both")
    }
    let counts = try countsText.map { text -> [Int] in
      let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
      guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 1024 }) else {
        throw LoRAGradError.invalidArgument(argument: "--thread-counts", expected: "integers in 1…1024, comma-separated", given: "'\(text)'")
      }
      return values.map { $0! }
    } ?? Array(1...maxThreads)
    let rounds = try arguments.integer("--rounds", default: 5, in: 1...100)
    let output = try arguments.option("--out")
    try arguments.finish()
    let cases: [(path: String, problem: AttentionProblem, method: AttentionMethod)] = [
      ("exact", try DemoProblems.exact(length: quick ? 2048 : 4096), .exact),
      ("poly", try DemoProblems.polynomial(length: quick ? 16384 : 65536), .polynomial(tolerance: 1e-3)),
    ] + (KernelInstructionSet.detected.multipliesBFloat16
      ? [("exact-bf16", try DemoProblems.exact(length: quick ? 2048 : 4096), .exact(.bfloat16))] : [])
    let backends: [(String, (Int) -> Parallelism)] = [("dispatch", { .dispatch(threads: $0) }), ("openmp", { .openmp(threads: $0) })]
    var table = CSVTable(columns: [
      "path", "length", "backend", "threads", "base_threads", "rounds", "first_call_seconds", "least_seconds", "seconds", "speedup", "median_speedup", "efficiency",
    ])
    var chart = SVGChart(title: "Thread scaling (\(activeProcessorCount)-core machine)", xLabel: "threads", yLabel: "speedup over \(counts[0]) thread\(counts[0] == 1 ? "" : "s") (min/min)",
                         xScale: .linear, yScale: .linear)
    chart.series.append(SVGChart.Series(name: "ideal", points: counts.map { (Double($0), Double($0) / Double(counts[0])) }, dashed: true, showsMarkers: false))
    print("\(rounds) interleaved rounds per path and backend; speedups over \(counts[0]) thread\(counts[0] == 1 ? "" : "s")")
    print("path       backend   threads   first call     least    median   speedup (min/min)   median speedup   efficiency")
    for (path, problem, method) in cases {
      for (backend, make) in backends {
        standardError("scaling: \(path) \(backend) × \(counts.map(String.init).joined(separator: ", ")), \(rounds) rounds…")
        let (first, times) = try Measurement.interleaved(rounds: rounds, counts.map { threads in
          let options = ExecutionOptions(parallelism: make(threads))
          return { _ = try problem.gradients(method: method, options: options) }
        })
        let least = times.map { $0.min()! }, median = times.map(Measurement.median)
        var points: [(x: Double, y: Double)] = []
        for (index, threads) in counts.enumerated() {
          let speedup = least[0] / least[index], medianSpeedup = median[0] / median[index]
          let efficiency = speedup * Double(counts[0]) / Double(threads)
          points.append((Double(threads), speedup))
          print(String(format: "%-10@ %-9@ %7d %12.4f %9.4f %9.4f %19.2f %16.2f %12.2f", path as NSString, backend as NSString, threads, first[index],
                       least[index], median[index], speedup, medianSpeedup, efficiency))
          table.append([path, String(problem.sequenceLength), backend, String(threads), String(counts[0]), String(rounds), String(first[index]), String(least[index]),
                        String(median[index]), String(speedup), String(medianSpeedup), String(efficiency)])
        }
        chart.series.append(SVGChart.Series(name: "\(path), \(backend)", points: points, dashed: false, showsMarkers: true))
      }
    }
    try Measurement.write(table: table, name: "scaling.csv", charts: [("scaling.svg", chart)], to: output)
  }
}
