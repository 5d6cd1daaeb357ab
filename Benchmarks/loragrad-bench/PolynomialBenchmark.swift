import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad-bench poly`: the polynomial path against the exact path, side by side in one run.
enum PolynomialBenchmark {
  static let help = """
    usage: loragrad-bench poly [--quick] [--causal] [--lengths L1,L2,…] [--exact-up-to L] [--bound R] [--tol ε]
                               [--width D] [--heads H] [--out DIR] [--threads N] [--backend B] [--isa I]

    For each L: the polynomial path (median of 3 runs for L ≤ 65536, else 1) and, up to
    --exact-up-to, the exact path on the same problem (N = 1, r = 8, q, k, v adapted, inputs
    scaled to norm bound R); prints seconds, speedup, time ratio per doubling of L, degree, rank,
    the bound on P̃, the observed error on 16 sampled rows (the check's own time not counted), and
    peak RSS.

    options:
      --quick              L ∈ {4096, 16384, 65536}, exact up to 65536
      --causal             the causal mask on both paths (chunked low-rank scan against causal tiles)
      --lengths LIST       comma-separated lengths (default 16384,32768,…,1048576)
      --exact-up-to L      run the exact path only up to this length (default 262144)
      --bound R            the norm bound R (default 0.5)
      --tol ε              tolerance (default 1e-3)
      --width D, --heads H model width and heads (default 16 and 1: head width 16)
      --memory-budget MB   the cap on the low-rank sums (default: the library's, 1024 MB); causal,
                           it bounds the chunk count and so, at large L, the chunk length
      --out DIR            also write DIR/poly.csv
    \(ExecutionArguments.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let causal = arguments.flag("--causal")
    let lengthList = try arguments.option("--lengths")
    let exactLimit = try arguments.integer("--exact-up-to", default: quick ? 65536 : 262_144, in: 0...(1 << 24))
    let bound = try arguments.number("--bound", default: 0.5, expected: "a number > 0") { $0 > 0 && $0.isFinite }
    let tolerance = try ToleranceOption.parse(&arguments)
    let width = try arguments.integer("--width", default: 16, in: 1...4096)
    let heads = try arguments.integer("--heads", default: 1, in: 1...4096)
    let budget = try arguments.integer("--memory-budget", default: PolynomialSettings(tolerance: tolerance).memoryBudget >> 20, in: 1...(1 << 20))
    let output = try arguments.option("--out")
    let options = try ExecutionArguments(&arguments).options
    try arguments.finish()
    let lengths = try lengthList.map { try positiveIntegers($0, option: "--lengths") } ?? (quick ? [4096, 16384, 65536] : (14...20).map { 1 << $0 })
    let parallelism = options.parallelism

    var table = CSVTable(columns: ["length", "width", "heads", "mask", "bound", "tolerance", "threads", "backend", "poly_seconds",
                                   "exact_seconds", "speedup", "doubling_ratio", "degree", "rank", "error_bound",
                                   "observed_error_p", "observed_error_o", "peak_rss_mb"])
    print("polynomial vs exact\(causal ? ", causal" : ""), N = 1, D = \(width), H = \(heads), r = 8, q,k,v adapted, R = \(bound), ε = \(tolerance), budget \(budget) MB, \(parallelism)")
    print("       L   poly s   exact s  speedup  ×/doubling  deg  rank  bound      observed   RSS MB")
    var previous: (length: Int, seconds: Double)?
    for length in lengths {
      standardError("poly: L = \(length)…")
      let problem = try DemoProblems.polynomial(length: length, causal: causal, bound: bound, width: width, heads: heads)
      let runs = length <= 65536 ? 3 : 1
      var times: [Double] = []
      var last: Gradients?
      for run in 0..<runs {
        let method = AttentionMethod.polynomial(PolynomialSettings(tolerance: tolerance, memoryBudget: budget << 20, checkRows: run == 0 ? 16 : 0))
        let (result, seconds) = try Stopwatch.measure { try problem.gradients(method: method, options: options) }
        times.append(seconds - (result.check?.seconds ?? 0))  // the path's time, without the a-posteriori check
        if run == 0 { last = result }
      }
      let polySeconds = times.sorted()[times.count / 2]
      var exactSeconds: Double?
      if length <= exactLimit {
        standardError("exact: L = \(length)…")
        exactSeconds = try Stopwatch.measure { try problem.gradients(method: .exact, options: options) }.seconds
      }
      let report = last?.regime?.polynomial
      let doubling = previous.map { polySeconds / $0.seconds * Double($0.length * 2) / Double(length) * 1 }
      let rss = Double(peakResidentBytes()) / 1e6
      let speedup = exactSeconds.map { $0 / polySeconds }
      print(String(format: "%8d %8.3f %@ %@ %@ %4d %5d %8.2e %10.2e %8.0f",
                   length, polySeconds, cell(exactSeconds.map { String(format: "%.3f", $0) } ?? "—", 9),
                   cell(speedup.map { String(format: "%.2f×", $0) } ?? "—", 8),
                   cell(doubling.map { String(format: "%.2f", $0) } ?? "—", 10),
                   report?.degree ?? -1, report?.featureCount ?? -1, report?.errorBound ?? .nan,
                   last?.check?.probabilityError ?? .nan, rss))
      table.append([String(length), String(width), String(heads), causal ? "causal" : "full", String(bound), String(tolerance), String(parallelism.threads),
                    parallelism.backendName, String(polySeconds), exactSeconds.map { String($0) } ?? "",
                    speedup.map { String($0) } ?? "", doubling.map { String($0) } ?? "", String(report?.degree ?? -1),
                    String(report?.featureCount ?? -1), String(report?.errorBound ?? .nan), String(last?.check?.probabilityError ?? .nan),
                    String(last?.check?.outputError ?? .nan), String(rss)])
      previous = (length, polySeconds)
    }
    if let output { try table.write(to: output, name: causal ? "poly-causal.csv" : "poly.csv") }
  }

  /// "a,b,c" as positive integers; a typed error naming `option` otherwise.
  static func positiveIntegers(_ text: String, option: String) throws -> [Int] {
    let values = text.split(separator: ",").compactMap { Int($0) }
    guard !values.isEmpty, values.count == text.split(separator: ",").count, values.allSatisfy({ $0 >= 1 }) else {
      throw LoRAGradError.invalidArgument(argument: option, expected: "comma-separated integers ≥ 1", given: "'\(text)'")
    }
    return values
  }

  /// "a,b,c" as finite numbers > 0; a typed error naming `option` otherwise.
  static func positiveNumbers(_ text: String, option: String) throws -> [Double] {
    let values = text.split(separator: ",").compactMap { Double($0) }
    guard !values.isEmpty, values.count == text.split(separator: ",").count, values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
      throw LoRAGradError.invalidArgument(argument: option, expected: "comma-separated numbers > 0", given: "'\(text)'")
    }
    return values
  }
}
