import LoRAGrad

/// Data parallelism over MPI (SPEC §8): the N sequences of a problem split into contiguous ranges,
/// one per rank; each rank runs the single-machine code on its range, and the adapter gradients
/// and losses are summed in rank order in Float64 (so a fixed rank count gives the same bits on
/// every run, and any rank count agrees with one process within the Float32 rounding of the
/// sums); dX is gathered in sequence order.
public enum DataParallel {
  /// The sequences of rank r: ⌊N/size⌋ each, the first N mod size ranks one more.
  public static func sequences(rank: Int, ranks: Int, count n: Int) -> Range<Int> {
    let base = n / ranks, extra = n % ranks
    let start = rank * base + min(rank, extra)
    return start..<(start + base + (rank < extra ? 1 : 0))
  }

  /// The method every rank runs: `auto` decided once from the whole problem (every rank holds it
  /// and gets the same verdict), so that no two ranks take different paths.
  public static func resolve(_ method: AttentionMethod, _ problem: AttentionProblem, options: ExecutionOptions) throws -> AttentionMethod {
    guard case .auto(let settings) = method else { return method }
    let regime = try problem.regime(settings: settings, options: options)
    return regime.verdict == .polynomial ? .polynomial(settings) : .exact
  }

  /// The loss, adapter gradients and (when `inputGradient`) dX of the whole problem, computed
  /// by the ranks of `job` on their sequences. Error bounds are not combined (nil).
  public static func gradients(
    _ problem: AttentionProblem, method: AttentionMethod, inputGradient: Bool, options: ExecutionOptions, job: MPIJob
  ) throws -> Gradients {
    let chosen = try resolve(method, problem, options: options)
    let range = sequences(rank: job.rank, ranks: job.size, count: problem.batchCount)
    let layer = problem.layer
    var local: Gradients?
    if !range.isEmpty { local = try problem.selecting(sequences: Array(range)).gradients(method: chosen, inputGradient: inputGradient, options: options) }
    // Adapter gradients: every rank's, flattened in projection order, summed in rank order.
    let sums = try RankSums.sum(RankSums.flatten({ role in local.flatMap { RankSums.matrix(role, in: $0.adapters) } }, like: layer), job: job)
    let adapters = RankSums.adapters(sums[...], like: layer)
    // The loss and the path: [loss, has a loss, path] per rank.
    let pathCode = Double(AttentionPath.allCases.firstIndex(of: local?.path ?? .exact)!)
    let summary = try job.allGather([local?.loss ?? 0, local?.loss == nil ? 0 : 1, range.isEmpty ? -1 : pathCode])
    let loss: Double? = summary.contains { $0[1] == 1 } ? summary.reduce(0) { $0 + $1[0] } : nil
    let path = summary.first { $0[2] >= 0 }.map { AttentionPath.allCases[Int($0[2])] } ?? .exact
    var input: Tensor?
    if inputGradient {
      let rows = try job.allGather(local?.input?.scalars ?? [])
      input = Tensor(checkedShape: problem.inputs.shape, scalars: rows.flatMap { $0 })
    }
    var result = Gradients(loss: loss, adapters: adapters, input: input, path: path)
    result.precision = path == .exact ? chosen.precision : .float32
    return result
  }

  /// Z and lse [N, H, L] of the whole batch: each rank runs the layer on its sequences, and the
  /// rows are gathered in sequence order (every row computed by one rank, as in one process).
  public static func forward(
    _ layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?, method: AttentionMethod, options: ExecutionOptions, job: MPIJob
  ) throws -> (output: Tensor, logSumExp: Tensor, path: AttentionPath) {
    let whole = try AttentionProblem(layer: layer, inputs: inputs, keyLengths: keyLengths, objective: .upstream(inputs))
    let chosen = try resolve(method, whole, options: options)
    let range = sequences(rank: job.rank, ranks: job.size, count: whole.batchCount)
    var local: LayerForward?
    if !range.isEmpty {
      let part = try whole.selecting(sequences: Array(range))
      local = try layer.forward(part.inputs, keyLengths: part.keyLengths, method: chosen, options: options)
    }
    let rows = try job.allGather(local?.output.scalars ?? []).flatMap { $0 }
    let lse = try job.allGather(local?.logSumExp.scalars ?? []).flatMap { $0 }
    let pathCode = Double(range.isEmpty ? -1 : AttentionPath.allCases.firstIndex(of: local!.path)!)
    let paths = try job.allGather([pathCode])
    let path = paths.first { $0[0] >= 0 }.map { AttentionPath.allCases[Int($0[0])] } ?? .exact
    return (
      Tensor(checkedShape: inputs.shape, scalars: rows),
      Tensor(checkedShape: [whole.batchCount, layer.heads, whole.sequenceLength], scalars: lse), path
    )
  }
}
