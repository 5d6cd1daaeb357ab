import LoRAGrad
import LoRAGradIO

/// `loragrad regime <problem-dir> --tol ε` (and `loragrad-mpi regime`): which side of the phase
/// transition a problem is on. The statistics cost O(N·L·h): in a group every rank computes them
/// for the whole problem (the verdict the ranks share) and rank 0 prints.
public enum RegimeJob {
  /// The help text of `<tool> regime`.
  public static func help(tool: String) -> String {
    """
    usage: \(tool) regime <problem-dir> [--tol ε] [--threads N] [--backend B] [--isa I]
           \(tool) regime --model model.safetensors --adapter DIR --layer PATH --input x.npy [options]

    Projects the inputs, measures the norm bound R = max‖√β Q_i‖·max‖√β (K_j − μ)‖ and the entry
    bounds Γ, and prints one JSON line: "verdict" ("poly" when a polynomial of degree g meets ε
    and its C(h + g, g) features make it cheaper than the exact path, "exact" otherwise), R, Γ,
    the degree and feature count, the predicted one-thread seconds of both paths, and the
    crossover L for this h and R.

    options:
      --tol ε              tolerance in (0, 1) (default 1e-3)
    \(ExecutionArguments.help)

    \(ProblemSource.help)
    """
  }

  /// Runs the command in `group`.
  public static func run(_ arguments: inout Arguments, group: ComputeGroup) throws {
    let tolerance = try ToleranceOption.parse(&arguments)
    let execution = try ExecutionArguments(&arguments)
    let source = try ProblemSource(&arguments, needsObjective: false)
    try arguments.finish()
    let (problem, model) = try source.loadInputs()
    let regime = try problem.layer.regime(
      problem.inputs, keyLengths: problem.keyLengths, settings: PolynomialSettings(tolerance: tolerance), options: execution.options)
    guard group.rank == 0 else { return }
    var summary = JSONObject([("tolerance", .double(tolerance))])
    RegimeJSON.appendExecution(execution.options, to: &summary)
    if group.ranks > 1 { summary.append("ranks", .int(group.ranks)) }
    RegimeJSON.appendProblem(layer: problem.layer, inputs: problem.inputs, keyLengths: problem.keyLengths, to: &summary)
    RegimeJSON.append(regime, to: &summary)
    if model != nil { summary.append("model_layer", .string(source.description)) }
    print(summary.description)
  }
}
