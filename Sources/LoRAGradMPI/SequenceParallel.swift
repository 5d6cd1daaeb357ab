import LoRAGrad

/// Sequence parallelism for the polynomial path (SPEC §8, `loragrad-mpi … --split sequence`):
/// every rank holds the whole problem, projects it and computes the same statistics and plan, then
/// the low-rank sums, outputs and gradients of its own contiguous range of rows (a range of
/// chunks, `SequenceShard`); the chunk sums are combined in rank order (causal: exclusive scans
/// over the ranks), O(k·h²) numbers per head and pass whatever L is. The adapter gradients, the
/// loss and the gradients' error bounds are then summed in rank order in Float64, and Z and dX
/// gathered row by row. A fixed rank count gives the same bits on every run; any agrees with one
/// process within the Float32 rounding of the combined sums.
public enum SequenceParallel {
  /// What a rank sent: the collectives of the computation (independent of L) and the rows gathered
  /// for the outputs rank 0 writes (Z or dX, O(N·L·D / P)).
  public struct Traffic: Sendable {
    /// Bytes of the low-rank sums, adapter gradients, loss and bounds this rank sent.
    public var bytesSent = 0
    /// Bytes of output rows (Z, lse or dX) this rank sent for the gather.
    public var bytesGathered = 0
  }

  /// The method with room for a chunk per rank (non-causal chunks only group the sums, so more of
  /// them change no approximation; causal chunks are part of the method, and ranks beyond the
  /// chunk count stay idle), and the shard of this rank.
  private static func shard(_ method: AttentionMethod, job: MPIJob) throws -> (AttentionMethod, SequenceShard) {
    guard case .polynomial(var settings) = method else {
      throw LoRAGradError.invalidArgument(
        argument: "--split", expected: "batch with --method \(method.name) (sequence splits the polynomial path's low-rank sums; use --method poly)",
        given: "sequence")
    }
    settings.maxChunks = max(settings.maxChunks, job.size)
    return (.polynomial(settings), SequenceShard(rank: job.rank, ranks: job.size) { try job.allGather($0) })
  }

  /// This rank's rows of every sequence of `values` ([N, L, width]).
  private static func ownRows(_ values: [Float], sequences n: Int, length l: Int, width: Int, rows: Range<Int>) -> [Float] {
    values.withUnsafeBufferPointer { SequenceShard.rows(of: $0, sequences: n, length: l, width: width, rows: rows) }
  }

  /// Every rank's rows of every sequence (`mine`: this rank's, [N, rows, width]), in order: the
  /// whole [N, L, width] tensor.
  private static func gatherRows(
    _ mine: [Float], sequences n: Int, length l: Int, width: Int, rows: Range<Int>, job: MPIJob, traffic: inout Traffic
  ) throws -> [Float] {
    traffic.bytesGathered += mine.count * MemoryLayout<Float>.size
    let parts = try job.allGather(mine)
    let ranges = try job.allGather([Double(rows.lowerBound), Double(rows.upperBound)]).map { Int($0[0])..<Int($0[1]) }
    traffic.bytesGathered += 2 * MemoryLayout<Double>.size
    var whole = [Float](repeating: 0, count: n * l * width)
    for (part, range) in zip(parts, ranges) {
      for sequence in 0..<n {
        let count = range.count * width, source = sequence * count
        let target = (sequence * l + range.lowerBound) * width
        for t in 0..<count { whole[target + t] = part[source + t] }
      }
    }
    return whole
  }

  /// The loss, adapter gradients, their error bounds and (when `inputGradient`) dX of the whole
  /// problem, the same on every rank.
  public static func gradients(
    _ problem: AttentionProblem, method: AttentionMethod, inputGradient: Bool, options: ExecutionOptions, job: MPIJob
  ) throws -> (gradients: Gradients, traffic: Traffic) {
    let (method, shard) = try shard(method, job: job)
    let layer = problem.layer, n = problem.batchCount, l = problem.sequenceLength, d = layer.modelWidth
    let forward = try layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: method, options: options, shard: shard)
    let rows = forward.ownRows ?? 0..<l
    // The upstream gradient of every row (the shard's tiles read only their own) and this rank's share of the loss.
    let upstream: Tensor
    var loss: Double?
    switch problem.objective {
    case .squaredError(let targets):
      let (difference, _) = AttentionProblem.squaredError(forward.output, targets: targets)
      upstream = try Tensor(shape: forward.output.shape, scalars: difference)
      var sum = 0.0
      for sequence in 0..<n { for t in ((sequence * l + rows.lowerBound) * d)..<((sequence * l + rows.upperBound) * d) { sum += 0.5 * Double(difference[t]) * Double(difference[t]) } }
      loss = sum
    case .upstream(let dz):
      upstream = dz
    }
    let backward = try layer.backward(problem.inputs, saved: forward, upstream: upstream, inputGradient: inputGradient, options: options, shard: shard)
    // [loss | every adapter gradient | every entrywise bound], summed in rank order in Float64.
    let bounds = backward.entrywiseErrorBounds
    let roles = RankSums.roles(layer)
    var flat = [loss ?? 0] + RankSums.flatten({ RankSums.matrix($0, in: backward.adapters) }, like: layer)
    let adapterCount = flat.count - 1
    if let bounds { flat += RankSums.flatten({ bounds[$0] }, like: layer) }
    var traffic = Traffic(bytesSent: shard.bytesSent + flat.count * MemoryLayout<Double>.size)
    let sums = try RankSums.sum(flat, job: job)
    let adapters = RankSums.adapters(sums[1..<(1 + adapterCount)], like: layer)
    var relative: [TensorRole: Double] = [:]
    if bounds != nil {
      var offset = 1 + adapterCount
      for role in roles {
        let values = RankSums.matrix(role, in: adapters)!.scalars
        relative[role] = LayerGradients.relativeBound(sums[offset..<(offset + values.count)].max() ?? 0, of: values)
        offset += values.count
      }
    }
    var input: Tensor?
    if inputGradient, let local = backward.input {
      let whole = try gatherRows(local.scalars, sequences: n, length: l, width: d, rows: rows, job: job, traffic: &traffic)  // own rows only
      input = Tensor(checkedShape: problem.inputs.shape, scalars: whole)
      if let bound = bounds?[.inputs] {  // dX's entrywise bound lives on the rows: the largest of every rank's
        let largest = try job.allGather([Double(bound.scalars.max() ?? 0)]).map { $0[0] }.max() ?? 0
        traffic.bytesSent += MemoryLayout<Double>.size
        relative[.inputs] = LayerGradients.relativeBound(largest, of: whole)
      }
    }
    var result = Gradients(loss: loss.map { _ in sums[0] }, adapters: adapters, input: input, path: .polynomial, regime: forward.regime)
    if bounds != nil { result.errorBounds = relative }
    return (result, traffic)
  }

  /// Z and lse [N, H, L] of the whole batch, gathered row by row, the same on every rank.
  public static func forward(
    _ layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?, method: AttentionMethod, options: ExecutionOptions, job: MPIJob
  ) throws -> (output: Tensor, logSumExp: Tensor, regime: Regime?, traffic: Traffic) {
    let (method, shard) = try shard(method, job: job)
    let result = try layer.forward(inputs, keyLengths: keyLengths, method: method, options: options, shard: shard)
    let shape = result.logSumExp.shape, n = shape[0], heads = shape[1], l = shape[2]
    let rows = result.ownRows ?? 0..<l
    var traffic = Traffic(bytesSent: shard.bytesSent)
    let d = layer.modelWidth
    let z = try gatherRows(
      ownRows(result.output.scalars, sequences: n, length: l, width: d, rows: rows), sequences: n, length: l, width: d, rows: rows,
      job: job, traffic: &traffic)
    let lse = try gatherRows(
      ownRows(result.logSumExp.scalars, sequences: n * heads, length: l, width: 1, rows: rows), sequences: n * heads, length: l,
      width: 1, rows: rows, job: job, traffic: &traffic)
    return (Tensor(checkedShape: inputs.shape, scalars: z), Tensor(checkedShape: shape, scalars: lse), result.regime, traffic)
  }
}
