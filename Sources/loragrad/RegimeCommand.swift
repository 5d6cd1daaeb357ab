import LoRAGrad
import LoRAGradCommandLine

/// `loragrad regime <problem-dir> --tol ε`: which side of the phase transition a problem is on.
enum RegimeCommand {
  static let help = """
    usage: loragrad regime <problem-dir> [--tol ε] [--threads N] [--backend B]

    Projects the inputs, measures the norm bound R = max‖√β Q_i‖·max‖√β (K_j − μ)‖ and the entry
    bound Γ, and prints one JSON line: "verdict" ("poly" when a polynomial of degree g meets ε
    and its rank C(h + g, g) makes it cheaper than the exact path, "exact" otherwise), R, Γ, the
    degree and rank, the predicted seconds of both paths, and the crossover L for this h and R.

    options:
      --tol ε              tolerance in (0, 1) (default 1e-3)
    \(ParallelismOptions.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let tolerance = try ToleranceOption.parse(&arguments)
    let options = try ParallelismOptions(&arguments)
    let directory = try arguments.positional("problem directory")
    try arguments.finish()
    let problem = try AttentionProblem(directory: directory)
    let regime = try problem.regime(tolerance: tolerance, parallelism: options.parallelism)
    var summary = JSONObject([
      ("tolerance", .double(tolerance)),
      ("length", .int(problem.sequenceLength)),
      ("head_width", .int(problem.headWidth)),
      ("threads", .int(options.parallelism.threads)),
    ])
    RegimeJSON.append(regime, to: &summary)
    print(summary.description)
  }
}
