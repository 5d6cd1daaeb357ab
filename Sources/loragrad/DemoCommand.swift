import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad demo`: the main job on embedded problems generated in-process from fixed seeds.
enum DemoCommand {
  static let help = """
    usage: loragrad demo [--length L] [--heads H] [--poly-length L] [--skip-poly] [--threads N] [--backend B] [--isa I]

    1. The exact path on a default problem (seed 0: N = 1, L = 4096, D = 64, H = 1, r = 8,
       q, k and v adapted), loss and every gradient (adapters and dX): loss, seconds, GFLOP/s
       (counted as 12·N·L²·D); then the same layer causal (decoder attention), and with bf16
       products (time against float32, and the difference from the float32 gradients).
    2. Both paths on a normalised long problem (L = 65536, D = 16, H = 1 so h = 16, inputs
       scaled to R = 0.5, ε = 1e-3), non-causal and causal: seconds, speedup, the error bound and
       the observed error (16 sampled rows, and every gradient against the exact path).
    3. What the regime detector says when the same inputs are scaled to R = 4.

    options:
      --length L           sequence length of part 1 (default 4096)
      --heads H            attention heads of part 1, dividing D = 64 (default 1)
      --poly-length L      sequence length of parts 2 and 3 (default 65536)
      --skip-poly          part 1 only
    \(ExecutionArguments.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let length = try arguments.integer("--length", default: 4096, in: 1...1 << 24)
    let heads = try arguments.integer("--heads", default: 1, in: 1...64)
    let polyLength = try arguments.integer("--poly-length", default: 65536, in: 1...1 << 24)
    let skipPoly = arguments.flag("--skip-poly")
    let execution = try ExecutionArguments(&arguments)
    try arguments.finish()
    guard 64 % heads == 0 else {
      throw LoRAGradError.invalidArgument(argument: "--heads", expected: "a divisor of D = 64", given: "\(heads)")
    }
    let options = execution.options
    print("LoRAGrad demo: LoRA adapter gradients of softmax attention")
    print("  cores     backend \(options.parallelism.backendName), \(options.parallelism.threads) thread(s), kernels \(options.instructionSet.rawValue)")
    let machine = MachineDescription.current
    let roof = try SGEMMRoof.measure(instructionSet: options.instructionSet, threads: options.parallelism.threads)
    print("  machine   \(machine.processor), vector class \(machine.vectorClass); SGEMM roof of our kernels \(formatted(roof.gflops, digits: 4)) GFLOP/s")

    var exactSeconds = 0.0
    var full: (result: Gradients, seconds: Double)?
    for causal in [false, true] {
      let problem = try DemoProblems.exact(length: length, heads: heads, causal: causal)
      _ = try problem.gradients(method: .exact, options: options)  // warm-up
      let (result, seconds) = try Stopwatch.measure { try problem.gradients(method: .exact, options: options) }
      let title = causal ? "causal" : "exact path"
      print("\n1\(causal ? "b" : "a"). \(title)   N = 1, L = \(length), D = 64, H = \(heads) (h = \(problem.layer.headWidth)), r = 8, α = 8, q, k, v adapted\(causal ? ", causal mask" : "")")
      print("  loss      \(result.loss ?? .nan)")
      let rate = CostModel.exactFlops(problem.shape) / seconds / 1e9
      print("  time      \(formatted(seconds, digits: 4)) s, \(formatted(rate, digits: 4)) GFLOP/s (12·D per visible query-key pair, \(formatted(100 * rate / roof.gflops, digits: 3))% of the roof)"
        + (causal ? ", \(formatted(exactSeconds / seconds, digits: 3))× faster than the full mask" : ""))
      for projection in result.adapters.keys.sorted() {
        let gradient = result.adapters[projection]!
        print("  ‖∂A_\(projection.rawValue)‖ = \(formatted(norm(gradient.a), digits: 6)), ‖∂B_\(projection.rawValue)‖ = \(formatted(norm(gradient.b), digits: 6))")
      }
      print("  ‖dX‖ = \(formatted(norm(result.input!), digits: 6))")
      exactSeconds = seconds
      if !causal { full = (result, seconds) }
    }
    // 1c. The full-mask layer again with bf16 products (SPEC §2.1).
    let problem = try DemoProblems.exact(length: length, heads: heads, causal: false)
    _ = try problem.gradients(method: .exact(.bfloat16), options: options)  // warm-up
    let (bf16, bf16Seconds) = try Stopwatch.measure { try problem.gradients(method: .exact(.bfloat16), options: options) }
    let kernels = options.instructionSet.multipliesBFloat16 ? "vdpbf16ps" : "the float32 kernels on bf16 values (no AVX512-BF16 here: the same bits)"
    print("\n1c. bf16 products   the layer of 1a, q, k, v, P, dO, dS rounded to bfloat16, float32 accumulation, \(kernels)")
    print("  time      \(formatted(bf16Seconds, digits: 4)) s, \(formatted(full!.seconds / bf16Seconds, digits: 3))× the float32 time of 1a")
    print("  accuracy  max relative difference from 1a over every adapter gradient and dX: \(formatted(bf16.maxRelativeDifference(from: full!.result), digits: 3)) (u_b = 2⁻⁸ ≈ 3.9e-3)")
    if skipPoly { return }

    let tolerance = 1e-3
    for causal in [false, true] {
      let long = try DemoProblems.polynomial(length: polyLength, causal: causal)
      let method = AttentionMethod.polynomial(PolynomialSettings(tolerance: tolerance, checkRows: 16))
      let (poly, pathAndCheckSeconds) = try Stopwatch.measure { try long.gradients(method: method, options: options) }
      let polySeconds = pathAndCheckSeconds - (poly.check?.seconds ?? 0)  // the path's time; the check is printed apart
      let (exact, longExactSeconds) = try Stopwatch.measure { try long.gradients(method: .exact, options: options) }
      let report = poly.regime!.polynomial!
      print("\n2\(causal ? "b" : "a"). polynomial vs exact\(causal ? ", causal" : "")   N = 1, L = \(polyLength), D = 16, H = 1 (h = 16), r = 8, R = 0.5, ε = \(tolerance)")
      print("  polynomial  degree \(report.degree), C(16 + \(report.degree), \(report.degree)) = \(report.featureCount) features"
        + (causal ? ", exact within chunks of \(report.chunkRows) rows" : "") + ": \(formatted(polySeconds, digits: 4)) s")
      print("  exact       \(formatted(longExactSeconds, digits: 4)) s   → speedup \(formatted(longExactSeconds / polySeconds, digits: 3))×")
      print("  bound       entrywise relative error of P̃ ≤ \(formatted(report.errorBound, digits: 3))")
      print("  observed    P̃ on 16 sampled rows \(formatted(poly.check!.probabilityError, digits: 3)), O \(formatted(poly.check!.outputError, digits: 3)) "
        + "(the check: \(formatted(poly.check!.seconds, digits: 3)) s), "
        + "gradients vs exact \(formatted(poly.maxRelativeDifference(from: exact), digits: 3)) (max|g̃ − g| / max|g|, adapters and dX)")
    }

    let scaled = try DemoProblems.polynomial(length: polyLength, bound: 4)
    let regime = try scaled.regime(tolerance: tolerance, options: options)
    print("\n3. the same inputs scaled to R = 4: regime verdict \"\(regime.verdict.rawValue)\"")
    print("  R = \(formatted(regime.norms.bound, digits: 3)), Γ = \(formatted(regime.norms.entryBound, digits: 3)); \(regime.reason)")
  }

  private static func norm(_ tensor: Tensor) -> Double {
    tensor.scalars.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
  }
}
