import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad demo`: the main job on embedded problems generated in-process from fixed seeds.
enum DemoCommand {
  static let help = """
    usage: loragrad demo [--length L] [--heads H] [--poly-length L] [--skip-poly] [--threads N] [--backend B]

    1. The exact path on a default problem (seed 0: N = 1, L = 4096, D = 64, H = 1, r = 8,
       q, k and v adapted): loss, seconds and GFLOP/s (counted as 12·N·L²·D).
    2. Both paths on a normalised long problem (L = 65536, D = 16, H = 1 so h = 16, inputs
       scaled to R = 0.5, ε = 1e-3): seconds, speedup, the certified bound and the observed
       error (16 sampled rows, and the adapter gradients against the exact path).
    3. What the regime detector says when the same inputs are scaled to R = 4.

    options:
      --length L           sequence length of part 1 (default 4096)
      --heads H            attention heads of part 1, dividing D = 64 (default 1)
      --poly-length L      sequence length of parts 2 and 3 (default 65536)
      --skip-poly          part 1 only
    \(ParallelismOptions.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let length = try arguments.integer("--length", default: 4096, in: 1...1 << 24)
    let heads = try arguments.integer("--heads", default: 1, in: 1...64)
    let polyLength = try arguments.integer("--poly-length", default: 65536, in: 1...1 << 24)
    let skipPoly = arguments.flag("--skip-poly")
    let options = try ParallelismOptions(&arguments)
    try arguments.finish()
    guard 64 % heads == 0 else {
      throw LoRAGradError.invalidArgument(argument: "--heads", expected: "a divisor of D = 64", given: "\(heads)")
    }
    let parallelism = options.parallelism
    print("LoRAGrad demo: loss and LoRA adapter gradients of softmax attention")
    print("  cores     backend \(parallelism.backend.name), \(parallelism.threads) thread(s), kernels \(KernelInstructionSet.active.rawValue)")

    let problem = try AttentionProblem.synthetic(length: length, width: 64, heads: heads, rank: 8, seed: 0)
    _ = try problem.gradients(method: .exact, parallelism: parallelism)  // warm-up
    let (exact, seconds) = try Stopwatch.measure { try problem.gradients(method: .exact, parallelism: parallelism) }
    print("\n1. exact path   N = 1, L = \(length), D = 64, H = \(heads) (h = \(problem.headWidth)), r = 8, α = 8, q, k, v adapted")
    print("  loss      \(exact.loss)")
    print("  time      \(formatted(seconds, digits: 4)) s, \(formatted(problem.exactFlopCount / seconds / 1e9, digits: 4)) GFLOP/s (12·N·L²·D)")
    for projection in exact.adapters.keys.sorted() {
      let gradient = exact.adapters[projection]!
      print("  ‖∂A_\(projection.rawValue)‖ = \(formatted(norm(gradient.a), digits: 4)), ‖∂B_\(projection.rawValue)‖ = \(formatted(norm(gradient.b), digits: 4))")
    }
    if skipPoly { return }

    let tolerance = 1e-3
    let long = try AttentionProblem.synthetic(length: polyLength, width: 16, heads: 1, rank: 8, normBound: 0.5, seed: 0)
    let (poly, polySeconds) = try Stopwatch.measure {
      try long.gradients(method: .polynomial(tolerance: tolerance), parallelism: parallelism, checkRows: 16)
    }
    let (longExact, longExactSeconds) = try Stopwatch.measure { try long.gradients(method: .exact, parallelism: parallelism) }
    let report = poly.regime!.polynomial!
    print("\n2. polynomial vs exact   N = 1, L = \(polyLength), D = 16, H = 1 (h = 16), r = 8, R = 0.5, ε = \(tolerance)")
    print("  polynomial  degree \(report.degree), rank C(16 + \(report.degree), \(report.degree)) = \(report.rank): \(formatted(polySeconds, digits: 4)) s")
    print("  exact       \(formatted(longExactSeconds, digits: 4)) s   → speedup \(formatted(longExactSeconds / polySeconds, digits: 3))×")
    print("  certified   entrywise relative error of P̃ ≤ \(formatted(report.errorBound, digits: 3))")
    print("  observed    P̃ on 16 sampled rows \(formatted(poly.check!.probabilityError, digits: 3)), O \(formatted(poly.check!.outputError, digits: 3)), "
      + "adapter gradients vs exact \(formatted(poly.maxRelativeDifference(from: longExact), digits: 3)) (max|g̃ − g| / max|g|)")

    let scaled = try AttentionProblem.synthetic(length: polyLength, width: 16, heads: 1, rank: 8, normBound: 4, seed: 0)
    let regime = try scaled.regime(tolerance: tolerance, parallelism: parallelism)
    print("\n3. the same inputs scaled to R = 4: regime verdict \"\(regime.verdict)\"")
    print("  R = \(formatted(regime.bound, digits: 3)), Γ = \(formatted(regime.gamma, digits: 3)); \(regime.reason)")
    if let polySecondsPredicted = regime.predictedPolynomialSeconds {
      print("  predicted   exact \(formatted(regime.predictedExactSeconds, digits: 3)) s, polynomial \(formatted(polySecondsPredicted, digits: 3)) s, "
        + "crossover L ≈ \(formatted(regime.crossoverLength ?? .nan, digits: 3))")
    }
  }

  private static func norm(_ tensor: Tensor) -> Double {
    tensor.scalars.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
  }
}
