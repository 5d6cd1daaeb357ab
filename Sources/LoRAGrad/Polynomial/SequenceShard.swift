import CLoRAGradKernels

/// One process's share of a sequence-parallel polynomial computation (SPEC §8): every process
/// holds the whole batch, projects it and computes the same statistics and plan (so the norms, R
/// and the degrees are the same bits everywhere without a message), then computes the low-rank
/// sums, outputs and gradients of its own contiguous range of chunks (rows); the chunk sums of
/// all processes are combined in rank order through `allGather`, O(k·h²) numbers per head and
/// pass, the same at any L.
package final class SequenceShard: @unchecked Sendable {
  /// This process's rank, 0 ..< ranks.
  package let rank: Int
  /// How many processes share each sequence.
  package let ranks: Int
  /// Every rank's values (the same count on every rank), in rank order.
  private let allGather: ([Double]) throws -> [[Double]]
  /// The bytes this process has passed to `allGather` so far.
  package private(set) var bytesSent = 0

  /// A shard from its rank and the collective.
  package init(rank: Int, ranks: Int, allGather: @escaping ([Double]) throws -> [[Double]]) {
    self.rank = rank
    self.ranks = ranks
    self.allGather = allGather
  }

  /// Every rank's values in rank order, counting the bytes sent.
  package func gather(_ values: [Double]) throws -> [[Double]] {
    bytesSent += values.count * MemoryLayout<Double>.size
    return try allGather(values)
  }

  /// The geometry with this rank's chunks: rank r of P owns chunks ⌊rC/P⌋ ..< ⌊(r+1)C/P⌋.
  func geometry(_ geometry: lgk_poly_geometry) -> lgk_poly_geometry {
    var own = geometry
    own.own_begin = Int64(rank) * geometry.chunks / Int64(ranks)
    own.own_end = Int64(rank + 1) * geometry.chunks / Int64(ranks)
    return own
  }

  /// The rows of every sequence this rank computes.
  func rows(_ geometry: lgk_poly_geometry, length: Int) -> Range<Int> {
    let own = self.geometry(geometry), rowsPerChunk = Int(geometry.blocks_per_chunk * geometry.row_block)
    return min(length, Int(own.own_begin) * rowsPerChunk)..<min(length, Int(own.own_end) * rowsPerChunk)
  }

  /// Positions `rows` of every sequence of `values` ([sequences, length, width], row-major), in
  /// order: [sequences, rows.count, width].
  package static func rows(
    of values: UnsafeBufferPointer<Float>, sequences: Int, length: Int, width: Int, rows: Range<Int>
  ) -> [Float] {
    var selected: [Float] = []
    selected.reserveCapacity(sequences * rows.count * width)
    for sequence in 0..<sequences {
      selected += values[((sequence * length + rows.lowerBound) * width)..<((sequence * length + rows.upperBound) * width)]
    }
    return selected
  }
}
