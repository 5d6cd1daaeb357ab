import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad forward <problem-dir> --out <dir>`: the layer's output, written atomically.
enum ForwardCommand {
  static let help = """
    usage: loragrad forward <problem-dir> --out <dir> [--method exact|poly|auto|reference] [--tol ε]
                            [--check S] [--threads N] [--backend B] [--isa I]

    Reads a problem directory (as `loragrad grad`; y.npy or dz.npy are not needed) and writes
    z.npy (the layer's output Z, the shape of x.npy) and lse.npy (the per-row log-sum-exp,
    [N, H, L], what a backward pass needs) into <dir>. Prints one JSON line like `grad`'s.

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
    RegimeJSON.appendProblem(problem, to: &summary)
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
