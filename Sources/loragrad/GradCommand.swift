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

    \(ComputeArguments.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let call = try ComputeArguments(&arguments)
    let problem = try ProblemDirectory.load(call.directory)
    let (output, method, execution) = (call.output, call.method, call.execution)
    let (result, seconds) = try Stopwatch.measure { try problem.gradients(method: method.method, options: execution.options) }
    try GradientFiles.write(result, to: output)
    var summary = JSONObject([
      ("loss", result.loss.map { .double($0) } ?? .null),
      ("method", .string(method.method.name)),
      ("path", .string(result.path.rawValue)),
      ("seconds", .double(seconds)),
    ])
    RegimeJSON.appendExecution(execution.options, to: &summary)
    RegimeJSON.appendProblem(layer: problem.layer, inputs: problem.inputs, keyLengths: problem.keyLengths, to: &summary)
    if result.path == .exact { summary.append("gflops", .double(CostModel.exactFlops(problem.shape) / seconds / 1e9)) }
    RegimeJSON.appendAnalysis(regime: result.regime, check: result.check, tolerance: method.tolerance, to: &summary)
    RegimeJSON.appendErrorBounds(result, to: &summary)
    summary.append("output", .string(output))
    print(summary.description)
  }
}
