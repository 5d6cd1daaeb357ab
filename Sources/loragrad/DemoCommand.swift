import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad demo`: the main job on an embedded problem generated in-process from a fixed seed.
enum DemoCommand {
  static let help = """
    usage: loragrad demo [--length L] [--heads H] [--threads N] [--backend B]

    Generates a default problem in-process (seed 0: N = 1, L = 4096, D = 64, r = 8, q, k and v
    adapted), computes the loss and every adapter gradient by the exact tiled path, and prints
    sizes, loss, seconds and GFLOP/s (counted as 12·N·L²·D).

    options:
      --length L           sequence length (default 4096)
      --heads H            attention heads, dividing D = 64 (default 1)
    \(ParallelismOptions.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let length = try arguments.integer("--length", default: 4096, in: 1...1 << 24)
    let heads = try arguments.integer("--heads", default: 1, in: 1...64)
    let options = try ParallelismOptions(&arguments)
    try arguments.finish()
    let problem = try AttentionProblem.synthetic(length: length, width: 64, heads: heads, rank: 8, seed: 0)
    _ = try problem.gradients(method: .exact, parallelism: options.parallelism)  // warm-up
    let (result, seconds) = try Stopwatch.measure {
      try problem.gradients(method: .exact, parallelism: options.parallelism)
    }
    let gflops = problem.exactFlopCount / seconds / 1e9
    print("LoRAGrad demo: exact loss and LoRA adapter gradients of softmax attention")
    print("  problem   N = 1, L = \(length), D = 64, H = \(heads) (h = \(problem.headWidth)), r = 8, α = 8, adapted q, k, v")
    print("  cores     backend \(options.parallelism.backend.name), \(options.parallelism.threads) thread(s), kernels \(KernelInstructionSet.active.rawValue)")
    print("  loss      \(result.loss)")
    print("  time      \(formatted(seconds, digits: 4)) s, \(formatted(gflops, digits: 1)) GFLOP/s (12·N·L²·D)")
    for projection in result.adapters.keys.sorted() {
      let gradient = result.adapters[projection]!
      let normA = gradient.a.scalars.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
      let normB = gradient.b.scalars.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
      print("  ‖∂A_\(projection.rawValue)‖ = \(formatted(normA, digits: 4)), ‖∂B_\(projection.rawValue)‖ = \(formatted(normB, digits: 4))")
    }
  }
}
