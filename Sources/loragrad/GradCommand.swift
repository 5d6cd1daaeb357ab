import LoRAGrad
import LoRAGradCommandLine

/// `loragrad grad <problem-dir> --out <dir>`: gradients of a problem directory, written atomically.
enum GradCommand {
  static let help = """
    usage: loragrad grad <problem-dir> --out <dir> [--method exact|poly|auto|reference] [--tol ε]
                         [--check S] [--threads N] [--backend B]

    Reads a problem directory (x.npy, y.npy, w_{q,k,v}.npy, lora_a_μ.npy / lora_b_μ.npy for each
    adapted μ, optional config.json), computes the loss and every adapter gradient, writes
    grad_lora_a_μ.npy, grad_lora_b_μ.npy and loss.npy into <dir> (each file whole or not at all),
    and prints one JSON line: loss, method, path, seconds (compute only, file I/O excluded),
    threads, backend, and for poly/auto the regime: degree, rank, bound (R), gamma (Γ),
    error_bound, predicted seconds of both paths.

    options:
      --out DIR            output directory (created if missing)
      --method M           exact (default) | poly (refuses, exit 2, when ε is out of reach) |
                           auto (the cheaper path that meets ε) | reference (Float64, small L only)
      --tol ε              tolerance of the polynomial path, in (0, 1) (default 1e-3)
      --check S            sample S query rows and report the observed error of P̃ and O (poly)
    \(ParallelismOptions.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let output = try arguments.option("--out")
    let methodName = try arguments.choice("--method", default: "exact", from: ["exact", "poly", "auto", "reference"])
    let tolerance = try ToleranceOption.parse(&arguments)
    let checkRows = try arguments.integer("--check", default: 0, in: 0...1_000_000)
    let options = try ParallelismOptions(&arguments)
    let directory = try arguments.positional("problem directory")
    try arguments.finish()
    guard let output else {
      throw LoRAGradError.invalidArgument(argument: "--out", expected: "an output directory", given: "nothing")
    }
    let problem = try AttentionProblem(directory: directory)
    let method: GradientMethod
    switch methodName {
    case "poly": method = .polynomial(tolerance: tolerance)
    case "auto": method = .auto(tolerance: tolerance)
    case "reference": method = .reference
    default: method = .exact
    }
    let (result, seconds) = try Stopwatch.measure {
      try problem.gradients(method: method, parallelism: options.parallelism, checkRows: checkRows)
    }
    try result.write(directory: output)
    var summary = JSONObject([
      ("loss", .double(result.loss)),
      ("method", .string(method.name)),
      ("path", .string(result.path)),
      ("seconds", .double(seconds)),
      ("threads", .int(options.parallelism.threads)),
      ("backend", .string(options.parallelism.backend.name)),
      ("kernels", .string(KernelInstructionSet.active.rawValue)),
      ("sequences", .int(problem.batchCount)),
      ("length", .int(problem.sequenceLength)),
      ("width", .int(problem.modelWidth)),
      ("heads", .int(problem.heads)),
      ("rank_lora", .int(problem.rank)),
      ("adapted", .array(problem.adaptedProjections.map { .string($0.rawValue) })),
    ])
    if result.path == "exact" {
      summary.append("gflops", .double(problem.exactFlopCount / seconds / 1e9))
    }
    if let regime = result.regime {
      summary.append("tolerance", .double(tolerance))
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
