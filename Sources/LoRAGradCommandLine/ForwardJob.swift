import LoRAGrad
import LoRAGradIO

/// `loragrad forward <problem-dir> --out <dir>` (and `loragrad-mpi forward`): the layer's output,
/// written atomically by rank 0.
public enum ForwardJob {
  /// The help text of `<tool> forward`.
  public static func help(tool: String) -> String {
    """
    usage: \(tool) forward <problem-dir> --out <dir> [--method exact|poly|auto|reference] [--tol ε]
                            [--check S] [--threads N] [--backend B] [--isa I]
           \(tool) forward --model model.safetensors --adapter DIR --layer PATH --input x.npy --out <dir>

    Reads a problem directory or a model layer (as `loragrad grad`; no targets or dz needed) and writes
    z.npy (the layer's output Z, the shape of x.npy) and lse.npy (the per-row log-sum-exp,
    [N, H, L], what a backward pass needs) into <dir>. Prints one JSON line like `grad`'s.

    \(ComputeArguments.help)
    """
  }

  /// Runs the command in `group`.
  public static func run(_ arguments: inout Arguments, group: ComputeGroup) throws {
    let call = try ComputeArguments(&arguments, needsObjective: false)
    let (problem, model) = try call.source.loadInputs()
    let (output, method, execution) = (call.output, call.method, call.execution)
    let (result, seconds) = try Stopwatch.measure {
      try group.forward(problem.layer, inputs: problem.inputs, keyLengths: problem.keyLengths, method: method.method, options: execution.options)
    }
    guard group.rank == 0 else { return }
    try AtomicWrite.write(
      [(ProblemFiles.name(.output), NumPyArray.encode(result.output)), (ProblemFiles.name(.logSumExp), NumPyArray.encode(result.logSumExp))],
      into: output)
    var summary = JSONObject([
      ("method", .string(method.method.name)), ("path", .string(result.path.rawValue)),
      ("precision", .string((result.path == .exact ? method.method.precision : ExactPrecision.float32).name)), ("seconds", .double(seconds)),
    ])
    RegimeJSON.appendExecution(execution.options, to: &summary)
    if group.ranks > 1 { summary.append("ranks", .int(group.ranks)) }
    for (key, value) in group.report() { summary.append(key, value) }
    RegimeJSON.appendProblem(layer: problem.layer, inputs: problem.inputs, keyLengths: problem.keyLengths, to: &summary)
    RegimeJSON.appendAnalysis(regime: result.regime, check: result.check, tolerance: method.tolerance, to: &summary)
    if let bound = result.outputErrorBound { summary.append("output_error_bound", .double(bound)) }
    if model != nil { summary.append("model_layer", .string(call.source.description)) }
    summary.append("output", .string(output))
    print(summary.description)
  }
}
