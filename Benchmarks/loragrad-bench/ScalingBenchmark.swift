import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO
import LoRAGradOpenMP

/// `loragrad-bench scaling`: threads 1…N × both backends × both paths.
enum ScalingBenchmark {
  static let help = """
    usage: loragrad-bench scaling [--quick] [--max-threads N] [--out DIR]

    For threads 1…N (N = the number of cores, \(activeProcessorCount) here, or --max-threads), both
    backends (dispatch, openmp) and both paths — exact at N = 1, L = 4096, D = 64, H = 1 and
    polynomial at L = 65536, h = 16, R = 0.5, ε = 1e-3 (--quick: L = 2048 and 16384), and where
    the CPU multiplies bf16 natively (avx512f+bf16) the exact path with bf16 products too — the
    median seconds of 3 runs, the speedup over 1 thread of the same backend and the parallel
    efficiency.
    With --out: DIR/scaling.csv and DIR/scaling.svg (speedup against threads, with the ideal line).
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let maxThreads = try arguments.integer("--max-threads", default: activeProcessorCount, in: 1...1024)
    let output = try arguments.option("--out")
    try arguments.finish()
    let cases: [(path: String, problem: AttentionProblem, method: AttentionMethod)] = [
      ("exact", try DemoProblems.exact(length: quick ? 2048 : 4096), .exact),
      ("poly", try DemoProblems.polynomial(length: quick ? 16384 : 65536), .polynomial(tolerance: 1e-3)),
    ] + (KernelInstructionSet.detected.multipliesBFloat16
      ? [("exact-bf16", try DemoProblems.exact(length: quick ? 2048 : 4096), .exact(.bfloat16))] : [])
    let backends: [(String, (Int) -> Parallelism)] = [("dispatch", { .dispatch(threads: $0) }), ("openmp", { .openmp(threads: $0) })]
    var table = CSVTable(columns: ["path", "length", "backend", "threads", "seconds", "speedup", "efficiency"])
    var chart = SVGChart(title: "Thread scaling (\(activeProcessorCount)-core machine)", xLabel: "threads", yLabel: "speedup over 1 thread",
                         xScale: .linear, yScale: .linear)
    chart.series.append(SVGChart.Series(name: "ideal", points: (1...maxThreads).map { (Double($0), Double($0)) }, dashed: true, showsMarkers: false))
    print("path       backend   threads   seconds   speedup   efficiency")
    for (path, problem, method) in cases {
      for (backend, make) in backends {
        var points: [(x: Double, y: Double)] = []
        var single = 0.0
        for threads in 1...maxThreads {
          standardError("scaling: \(path) \(backend) × \(threads)…")
          let options = ExecutionOptions(parallelism: make(threads))
          let seconds = try Measurement.medianSeconds(runs: 3, warmUp: 1) {
            _ = try problem.gradients(method: method, options: options)
          }
          if threads == 1 { single = seconds }
          let speedup = single / seconds
          points.append((Double(threads), speedup))
          print(String(format: "%-10@ %-9@ %7d %9.4f %9.2f %12.2f", path as NSString, backend as NSString, threads, seconds, speedup, speedup / Double(threads)))
          table.append([path, String(problem.sequenceLength), backend, String(threads), String(seconds), String(speedup), String(speedup / Double(threads))])
        }
        chart.series.append(SVGChart.Series(name: "\(path), \(backend)", points: points, dashed: false, showsMarkers: true))
      }
    }
    try Measurement.write(table: table, name: "scaling.csv", charts: [("scaling.svg", chart)], to: output)
  }
}
