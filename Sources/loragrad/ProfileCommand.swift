import LoRAGrad
import LoRAGradCommandLine

/// `loragrad profile`: one path in a steady-state loop, for `perf record` to sample.
enum ProfileCommand {
  static let help = """
    usage: loragrad profile [--method exact|poly] [--precision float32|bf16] [--causal] [--seconds S] [--length L]
                            [--heads H] [--threads N] [--backend B] [--isa I]

    Runs one path (forward and backward) over and over on an embedded problem for S seconds
    (default 10) so that `perf record -e cpu-clock -g -- loragrad profile …` samples its steady
    state; the C kernels carry the prefix lgk_ (lgomp_ for the OpenMP loop) and show by name in
    `perf report`. exact: N = 1, L = 4096, D = 64, H = 1 (--heads).  poly: N = 1, L = 65536, D = 16 (h = 16),
    R = 0.5, ε = 1e-3. Prints on stderr the iterations, the mean and least seconds per iteration,
    the first call's seconds and minor page faults (the process's cold call), the minor page
    faults per iteration after the first (the layer reuses its buffers, so few),
    and for the exact path its rate (from the mean) as a share of this machine's SGEMM roof (our
    kernels, measured after the loop).

    options:
      --method M           exact (default) or poly
      --precision P        exact: float32 (default) or bf16 (its share is of the bf16 pair product's
                           roof where the kernels multiply bf16 natively)
      --causal             the causal mask
      --seconds S          how long to loop (default 10)
      --length L           sequence length (default 4096 for exact, 65536 for poly)
      --heads H            exact: heads, a divisor of 64 (default 1; 4 gives h = 16)
    \(ExecutionArguments.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let method = try arguments.choice("--method", default: "exact", from: ["exact", "poly"])
    let causal = arguments.flag("--causal")
    let duration = try arguments.number("--seconds", default: 10, expected: "a number of seconds > 0") { $0 > 0 && $0.isFinite }
    let length = try arguments.integer("--length", default: method == "exact" ? 4096 : 65536, in: 1...1 << 24)
    let precision = ExactPrecision(name: try arguments.choice("--precision", default: "float32", from: ExactPrecision.names))!
    guard precision == .float32 || method == "exact" else {
      throw LoRAGradError.invalidArgument(argument: "--precision", expected: "float32 with --method poly (bf16 is for the exact path)", given: "bf16")
    }
    let heads = try arguments.integer("--heads", default: 1, in: 1...64)
    guard 64 % heads == 0, heads == 1 || method == "exact" else {
      throw LoRAGradError.invalidArgument(argument: "--heads", expected: "a divisor of 64, with --method exact", given: "\(heads)")
    }
    let execution = try ExecutionArguments(&arguments)
    try arguments.finish()
    let problem = method == "exact"
      ? try DemoProblems.exact(length: length, heads: heads, causal: causal) : try DemoProblems.polynomial(length: length, causal: causal)
    let chosen: AttentionMethod = method == "exact" ? .exact(FlashTiling(precision: precision)) : .polynomial(tolerance: 1e-3)
    var iterations = 0
    var elapsed = 0.0
    let faultsBefore = minorPageFaults()
    var faultsAfterFirst = 0
    var least = Double.infinity
    var first = 0.0
    while elapsed < duration {
      let seconds = try Stopwatch.measure { try problem.gradients(method: chosen, options: execution.options) }.seconds
      elapsed += seconds
      least = min(least, seconds)
      iterations += 1
      if iterations == 1 {
        first = seconds
        faultsAfterFirst = minorPageFaults()
      }
    }
    let perIteration = elapsed / Double(iterations)
    var line = "profile \(method)\(precision == .bfloat16 ? " bf16" : "")\(causal ? " causal" : "")\(heads > 1 ? " H = \(heads)" : ""): \(iterations) iterations, \(formatted(perIteration, digits: 4)) s each (least \(formatted(least, digits: 4)) s), \(execution.options.parallelism), the first call \(formatted(first, digits: 4)) s with \(faultsAfterFirst - faultsBefore) page faults"
    if iterations > 1 {
      let faults = Double(minorPageFaults() - faultsAfterFirst) / Double(iterations - 1)
      line += ", \(formatted(faults, digits: 3)) page faults per iteration after the first"
    }
    if method == "exact" {
      // The rate as a share of this machine's SGEMM roof with the same kernels and threads, measured after the loop.
      let rate = CostModel.exactFlops(problem.shape) / perIteration / 1e9
      let isa = execution.options.instructionSet
      let roof = try SGEMMRoof.measure(
        instructionSet: isa, threads: execution.options.parallelism.threads,
        precision: precision == .bfloat16 && isa.multipliesBFloat16 ? .bfloat16 : .float32)
      line += ", \(formatted(rate, digits: 4)) GFLOP/s = \(formatted(100 * rate / roof.gflops, digits: 3))% of the \(formatted(roof.gflops, digits: 4)) GFLOP/s "
        + "\(roof.precision == .bfloat16 ? "bf16 pair product" : "SGEMM") roof of our \(roof.instructionSet.rawValue) kernels (\(MachineDescription.current.processor), \(MachineDescription.current.vectorClass))"
    }
    standardError(line)
  }
}
