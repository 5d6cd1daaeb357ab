import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad forward <problem-dir> --out <dir>`: the layer's output, written atomically.
enum ForwardCommand {
  static let help = """
    usage: loragrad forward <problem-dir> --out <dir> [--method exact|poly|auto|reference] [--tol ε]
                            [--check S] [--threads N] [--backend B] [--isa I]
           loragrad forward --model model.safetensors --adapter DIR --layer PATH --input x.npy --out <dir>

    Reads a problem directory or a model layer (as `loragrad grad`; no targets or dz needed) and writes
    z.npy (the layer's output Z, the shape of x.npy) and lse.npy (the per-row log-sum-exp,
    [N, H, L], what a backward pass needs) into <dir>. Prints one JSON line like `grad`'s.

    \(ComputeArguments.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let call = try ComputeArguments(&arguments, needsObjective: false)
    let (problem, model) = try call.source.loadInputs()
    let (output, method, execution) = (call.output, call.method, call.execution)
    let (result, seconds) = try Stopwatch.measure {
      try problem.layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: method.method, options: execution.options)
    }
    try AtomicWrite.write(
      [(ProblemFiles.name(.output), NumPyArray.encode(result.output)), (ProblemFiles.name(.logSumExp), NumPyArray.encode(result.logSumExp))],
      into: output)
    var summary = JSONObject([
      ("method", .string(method.method.name)), ("path", .string(result.path.rawValue)), ("seconds", .double(seconds)),
    ])
    RegimeJSON.appendExecution(execution.options, to: &summary)
    RegimeJSON.appendProblem(layer: problem.layer, inputs: problem.inputs, keyLengths: problem.keyLengths, to: &summary)
    RegimeJSON.appendAnalysis(regime: result.regime, check: result.check, tolerance: method.tolerance, to: &summary)
    if let bound = result.outputErrorBound { summary.append("output_error_bound", .double(bound)) }
    if model != nil { summary.append("model_layer", .string(call.source.description)) }
    summary.append("output", .string(output))
    print(summary.description)
  }
}
