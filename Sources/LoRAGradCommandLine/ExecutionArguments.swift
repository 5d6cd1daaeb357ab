import Foundation
import LoRAGrad
import LoRAGradIO
import LoRAGradOpenMP

/// `--threads N --backend dispatch|openmp|serial --isa portable|avx2+fma|avx512f`, shared by every
/// command that computes; the cost model is this machine's calibration file when there is one.
public struct ExecutionArguments {
  /// The options chosen.
  public let options: ExecutionOptions

  /// The help lines of these options.
  public static let help = """
      --threads N          worker threads, N ≥ 1 (default: the number of cores, \(activeProcessorCount))
      --backend B          dispatch | openmp | serial (default: dispatch)
      --isa I              kernels: \(KernelInstructionSet.available.map(\.rawValue).joined(separator: " | ")) (default: \(KernelInstructionSet.detected.rawValue), the widest here)
    """

  /// Parses the options, validating N ≥ 1, the backend and the instruction set.
  public init(_ arguments: inout Arguments) throws {
    let backend = try arguments.choice("--backend", default: "dispatch", from: ["dispatch", "openmp", "serial"])
    let threads = try arguments.integer("--threads", default: activeProcessorCount, in: 1...4096)
    let isaName = try arguments.choice(
      "--isa", default: KernelInstructionSet.detected.rawValue, from: KernelInstructionSet.available.map(\.rawValue))
    let parallelism: Parallelism
    switch backend {
    case "openmp": parallelism = .openmp(threads: threads)
    case "serial": parallelism = .serial
    default: parallelism = .dispatch(threads: threads)
    }
    options = ExecutionOptions(
      parallelism: parallelism, instructionSet: KernelInstructionSet(rawValue: isaName)!, costModel: try CalibrationFile.load())
  }
}

/// `--method exact|poly|auto|reference --tol ε --check S --precision float32|bf16`: how attention is computed.
public struct MethodArguments {
  /// The method chosen.
  public let method: AttentionMethod
  /// ε (also the regime's tolerance).
  public let tolerance: Double

  /// The help lines of these options.
  public static let help = """
      --method M           exact (default) | poly (refuses, exit 2, when ε is out of reach) |
                           auto (the cheaper path that meets ε) | reference (Float64, L ≤ 16384)
      --tol ε              tolerance of the polynomial path, in (0, 1) (default 1e-3)
      --check S            poly: sample S query rows and report the observed error of P̃ and O
      --precision P        exact: float32 (default) | bf16 (q, k, v, P, dO, dS rounded to bfloat16 for
                           the products, Float32 accumulation; native with avx512f+bf16); the
                           polynomial path is Float32 only (its bound is for Float32)
    """

  /// Parses the options.
  public init(_ arguments: inout Arguments) throws {
    let name = try arguments.choice("--method", default: "exact", from: ["exact", "poly", "auto", "reference"])
    tolerance = try ToleranceOption.parse(&arguments)
    let checkRows = try arguments.integer("--check", default: 0, in: 0...1_000_000)
    let settings = PolynomialSettings(tolerance: tolerance, checkRows: checkRows)
    let precisionName = try arguments.choice("--precision", default: "float32", from: ExactPrecision.names)
    let precision = ExactPrecision(name: precisionName)!
    guard precision == .float32 || name == "exact" else {
      throw LoRAGradError.invalidArgument(
        argument: "--precision", expected: "float32 with --method \(name) (bf16 is for the exact path; the polynomial path and its bound are Float32)",
        given: precisionName)
    }
    switch name {
    case "poly": method = .polynomial(settings)
    case "auto": method = .auto(settings)
    case "reference": method = .reference
    default: method = .exact(FlashTiling(precision: precision))
    }
  }
}

/// `<problem-dir> --out <dir>` (or a model layer, `ProblemSource`) with the method and execution
/// options: what `grad` and `forward` take.
public struct ComputeArguments {
  /// Where the problem comes from.
  public let source: ProblemSource
  /// The output directory.
  public let output: String
  /// The method.
  public let method: MethodArguments
  /// The execution options.
  public let execution: ExecutionArguments

  /// The options block of the help of `grad` and `forward`.
  public static let help = """
    options:
      --out DIR            output directory (created if missing)
    \(MethodArguments.help)
    \(ExecutionArguments.help)

    \(ProblemSource.help)
    """

  /// Parses every option and the problem, and checks nothing is left over; `extra` takes a
  /// command's own options first.
  public init(_ arguments: inout Arguments, needsObjective: Bool, extra: (inout Arguments) throws -> Void = { _ in }) throws {
    let output = try arguments.option("--out")
    try extra(&arguments)
    method = try MethodArguments(&arguments)
    execution = try ExecutionArguments(&arguments)
    source = try ProblemSource(&arguments, needsObjective: needsObjective)
    try arguments.finish()
    guard let output else {
      throw LoRAGradError.invalidArgument(argument: "--out", expected: "an output directory", given: "nothing")
    }
    self.output = output
  }
}

/// The number of cores the operating system reports as active.
public var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }
