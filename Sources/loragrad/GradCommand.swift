import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad grad <problem-dir> --out <dir>`: gradients of a problem directory, written atomically.
enum GradCommand {
  static let help = """
    usage: loragrad grad <problem-dir> --out <dir> [--method exact|poly|auto|reference] [--tol ε]
                         [--check S] [--threads N] [--backend B] [--isa I]

    Reads a problem directory (x.npy; y.npy for the squared loss or dz.npy for an upstream
    gradient; w_{q,k,v}.npy; optional b_{q,k,v}.npy; lora_a_μ.npy / lora_b_μ.npy for each adapted
    μ; optional config.json with heads, alpha, beta, causal, use_rslora, rope_theta, lengths),
    runs the layer forwards and backwards, and writes grad_lora_a_μ.npy, grad_lora_b_μ.npy,
    grad_x.npy and (with y.npy) loss.npy into <dir>, each file whole or not at all. Prints one
    JSON line: loss, method, path, seconds (compute only), the problem, the execution, and for
    poly/auto the regime (degree, feature_count, bound R, gamma, error_bound, predictions).

    options:
      --out DIR            output directory (created if missing)
    \(MethodArguments.help)
    \(ExecutionArguments.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let output = try arguments.option("--out")
    let method = try MethodArguments(&arguments)
    let execution = try ExecutionArguments(&arguments)
    let directory = try arguments.positional("problem directory")
    try arguments.finish()
    guard let output else {
      throw LoRAGradError.invalidArgument(argument: "--out", expected: "an output directory", given: "nothing")
    }
    let problem = try ProblemDirectory.load(directory)
    let (result, seconds) = try Stopwatch.measure { try problem.gradients(method: method.method, options: execution.options) }
    try GradientFiles.write(result, to: output)
    var summary = JSONObject([
      ("loss", result.loss.map { .double($0) } ?? .null),
      ("method", .string(method.method.name)),
      ("path", .string(result.path.rawValue)),
      ("seconds", .double(seconds)),
    ])
    RegimeJSON.appendExecution(execution.options, to: &summary)
    RegimeJSON.appendProblem(problem, to: &summary)
    if result.path == .exact { summary.append("gflops", .double(CostModel.exactFlops(problem.shape) / seconds / 1e9)) }
    if let regime = result.regime {
      summary.append("tolerance", .double(method.tolerance))
      RegimeJSON.append(regime, to: &summary)
    }
    if let check = result.check {
      summary.append("check_rows", .int(check.rows))
      summary.append("observed_error_p", .double(check.probabilityError))
      summary.append("observed_error_o", .double(check.outputError))
    }
    summary.append("output", .string(output))
    print(summary.description)
  }
}
