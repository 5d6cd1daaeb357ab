import LoRAGrad
import LoRAGradIO

/// `loragrad grad <problem-dir> --out <dir>` (and `loragrad-mpi grad`): gradients of a problem
/// directory or of a model layer, written atomically by rank 0.
public enum GradJob {
  /// The help text of `<tool> grad`.
  public static func help(tool: String) -> String {
    """
    usage: \(tool) grad <problem-dir> --out <dir> [--format npy|peft] [--method exact|poly|auto|reference]
                         [--tol ε] [--check S] [--threads N] [--backend B] [--isa I]
           \(tool) grad --model model.safetensors --adapter DIR --layer PATH --input x.npy
                         (--targets y.npy | --upstream dz.npy) --out <dir> [options]

    Reads a problem directory (x.npy; y.npy for the squared loss or dz.npy for an upstream
    gradient; w_{q,k,v}.npy; optional b_{q,k,v}.npy; lora_a_μ.npy / lora_b_μ.npy for each adapted
    μ; optional config.json with heads, alpha, beta, causal, use_rslora, rope_theta, lengths), or
    one attention layer of a Hugging Face model with a PEFT adapter, runs the layer forwards and
    backwards, and writes grad_lora_a_μ.npy, grad_lora_b_μ.npy (or, with --format peft, one
    grad_adapter_model.safetensors under the adapter's own key names), grad_x.npy and (with
    targets) loss.npy into <dir>, each file whole or not at all. Prints one JSON line: loss,
    method, path, seconds (compute only), the problem, the execution, and for poly/auto the
    regime (degree, feature_count, bound R, gamma, error_bound, predictions).

      --format F           npy (default) | peft
    \(ComputeArguments.help)
    """
  }

  /// Runs the command in `group` (rank 0 writes and prints).
  public static func run(_ arguments: inout Arguments, group: ComputeGroup) throws {
    var format = "npy"
    let call = try ComputeArguments(&arguments, needsObjective: true) { format = try $0.choice("--format", default: "npy", from: ["npy", "peft"]) }
    let (problem, model) = try call.source.load()
    let (output, method, execution) = (call.output, call.method, call.execution)
    let (result, seconds) = try Stopwatch.measure {
      try group.gradients(problem, method: method.method, inputGradient: true, options: execution.options)
    }
    guard group.rank == 0 else { return }
    let peftKeys: ((TensorRole) -> String)? = format == "peft" ? { role in model?.adapterKey(role) ?? PEFTFiles.key(role) } : nil
    try GradientFiles.write(result, to: output, peftKeys: peftKeys)
    var summary = JSONObject([
      ("loss", result.loss.map { .double($0) } ?? .null),
      ("method", .string(method.method.name)),
      ("path", .string(result.path.rawValue)),
      ("precision", .string(result.precision.name)),
      ("seconds", .double(seconds)),
    ])
    RegimeJSON.appendExecution(execution.options, to: &summary)
    if group.ranks > 1 { summary.append("ranks", .int(group.ranks)) }
    for (key, value) in group.report() { summary.append(key, value) }
    RegimeJSON.appendProblem(layer: problem.layer, inputs: problem.inputs, keyLengths: problem.keyLengths, to: &summary)
    if result.path == .exact { summary.append("gflops", .double(CostModel.exactFlops(problem.shape) / seconds / 1e9)) }
    RegimeJSON.appendAnalysis(regime: result.regime, check: result.check, tolerance: method.tolerance, to: &summary)
    RegimeJSON.appendErrorBounds(result, to: &summary)
    if model != nil { summary.append("model_layer", .string(call.source.description)) }
    summary.append("format", .string(format))
    summary.append("output", .string(output))
    print(summary.description)
  }
}
