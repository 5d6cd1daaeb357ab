import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad-bench bounds`: the polynomial path's error bounds against its observed errors.
enum BoundsBenchmark {
  static let help = """
    usage: loragrad-bench bounds [--quick] [--lengths L1,L2,…] [--exact-up-to L] [--bounds R1,R2,…] [--tol ε]
                                 [--causal] [--out DIR] [--threads N] [--backend B] [--isa I]

    For h = 16 (D = 16, H = 1, r = 8) and each L and R: the bound on P̃ and the kernel's observed P̃
    error on 16 sampled rows, and up to --exact-up-to (default 131072) the bounds on Z and on each
    adapter gradient and dX next to their observed errors against the exact path (relative to the
    largest entry, compare.py's measure), with bound / observed. With --out: DIR/bounds.csv.
    Defaults: L ∈ {4096, 16384, 65536, 131072, 1048576}, R ∈ {0.25, 0.5, 1}; --quick: L ∈ {4096, 16384}, R = 0.5.
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let causal = arguments.flag("--causal")
    let lengths = try arguments.option("--lengths").map { try PolynomialBenchmark.positiveIntegers($0, option: "--lengths") }
      ?? (quick ? [4096, 16384] : [4096, 16384, 65536, 131_072, 1_048_576])
    let exactLimit = try arguments.integer("--exact-up-to", default: 131_072, in: 0...(1 << 24))
    let bounds = try arguments.option("--bounds").map { try PolynomialBenchmark.positiveNumbers($0, option: "--bounds") }
      ?? (quick ? [0.5] : [0.25, 0.5, 1])
    let tolerance = try ToleranceOption.parse(&arguments)
    let output = try arguments.option("--out")
    let options = try ExecutionArguments(&arguments).options
    try arguments.finish()
    var table = CSVTable(columns: ["length", "bound_R", "mask", "degree", "quantity", "error_bound", "observed", "ratio"])
    print("error bounds against observed errors, h = 16, ε = \(tolerance)\(causal ? ", causal" : ""), \(options.parallelism)")
    print("       L     R  deg  quantity        bound   observed   bound/observed")
    for length in lengths {
      for bound in bounds {
        standardError("bounds: L = \(length), R = \(bound)…")
        let problem = try DemoProblems.polynomial(length: length, causal: causal, bound: bound)
        let method = AttentionMethod.polynomial(PolynomialSettings(tolerance: tolerance, checkRows: 16))
        let poly: Gradients
        do { poly = try problem.gradients(method: method, options: options) } catch let error as LoRAGradError {
          print(String(format: "%8d %5.2f  refused: %@", length, bound, "\(error)" as NSString))
          continue
        }
        let report = poly.regime!.polynomial!
        var rows: [(String, Double, Double?)] = [("P̃ (16 rows)", report.errorBound, poly.check?.probabilityError)]
        if length <= exactLimit {
          let exact = try problem.gradients(method: .exact, options: options)
          let z = try problem.layer.forward(problem.inputs, method: method, options: options)
          let zExact = try problem.layer.forward(problem.inputs, method: .exact, options: options)
          rows.append(("Z", poly.outputErrorBound ?? .nan, z.output.maxRelativeDifference(from: zExact.output)))
          rows.append(("loss", poly.lossErrorBound ?? .nan, abs(poly.loss! - exact.loss!) / exact.loss!))
          for projection in Projection.allCases {
            rows.append(("∂A_\(projection.rawValue)", poly.errorBounds?[.adapterA(projection)] ?? .nan,
                         poly.adapters[projection]!.a.maxRelativeDifference(from: exact.adapters[projection]!.a)))
            rows.append(("∂B_\(projection.rawValue)", poly.errorBounds?[.adapterB(projection)] ?? .nan,
                         poly.adapters[projection]!.b.maxRelativeDifference(from: exact.adapters[projection]!.b)))
          }
          rows.append(("dX", poly.errorBounds?[.inputs] ?? .nan, poly.input!.maxRelativeDifference(from: exact.input!)))
        }
        for (quantity, errorBound, observed) in rows {
          let ratio = observed.map { errorBound / $0 }
          print(String(format: "%8d %5.2f %4d  %@ %10.3e %10.3e %@", length, bound, report.degree, cell(quantity, 12), errorBound,
                       observed ?? .nan, cell(ratio.map { String(format: "%.3g", $0) } ?? "—", 12)))
          table.append([String(length), String(bound), causal ? "causal" : "full", String(report.degree), quantity, String(errorBound),
                        observed.map { String($0) } ?? "", ratio.map { String($0) } ?? ""])
        }
      }
    }
    try Measurement.write(table: table, name: causal ? "bounds-causal.csv" : "bounds.csv", charts: [], to: output)
  }
}
