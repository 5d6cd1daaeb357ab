import CLoRAGradMPI
import LoRAGrad

/// The MPI job this process belongs to (MPI_COMM_WORLD, SPEC §8): its rank and size, and the
/// collective calls data parallelism needs, each gathering in rank order so that every reduction
/// built on them has one fixed order.
public final class MPIJob: @unchecked Sendable {
  /// This process's rank r, 0 ≤ r < size.
  public let rank: Int
  /// The number of ranks.
  public let size: Int

  /// Joins the job (MPI_Init); a process started without mpirun is a job of one rank.
  public init() throws {
    try Self.check(lgm_init(), "MPI_Init")
    rank = Int(lgm_rank())
    size = Int(lgm_size())
  }

  /// Every rank's `values` (the same count on every rank), in rank order.
  public func allGather(_ values: [Double]) throws -> [[Double]] {
    var out = [Double](repeating: 0, count: values.count * size)
    try Self.check(values.withUnsafeBufferPointer { input in
      out.withUnsafeMutableBufferPointer { lgm_allgather_doubles(input.baseAddress, Int64(values.count), $0.baseAddress) }
    }, "MPI_Allgather")
    return (0..<size).map { Array(out[($0 * values.count)..<(($0 + 1) * values.count)]) }
  }

  /// Every rank's `values` (any count per rank), in rank order.
  public func allGather(_ values: [Float]) throws -> [[Float]] {
    let counts = try allGather([Double(values.count)]).map { Int($0[0]) }
    var out = [Float](repeating: 0, count: counts.reduce(0, +))
    let counts64 = counts.map(Int64.init)
    try Self.check(values.withUnsafeBufferPointer { input in
      counts64.withUnsafeBufferPointer { c in out.withUnsafeMutableBufferPointer { lgm_allgatherv_floats(input.baseAddress, c.baseAddress, $0.baseAddress) } }
    }, "MPI_Allgatherv")
    var start = 0
    return counts.map { count in
      defer { start += count }
      return Array(out[start..<(start + count)])
    }
  }

  /// Waits for every rank.
  public func barrier() throws { try Self.check(lgm_barrier(), "MPI_Barrier") }

  /// Leaves the job (MPI_Finalize).
  public func finish() { _ = lgm_finalize() }

  /// Ends every rank of the job with exit status `code` (MPI_Abort): what a rank does when it
  /// fails, so that no other rank waits for it forever.
  public func abort(code: Int32) -> Never {
    lgm_abort(code)
    fatalError("MPI_Abort returned")
  }

  private static func check(_ status: Int32, _ call: String) throws {
    guard status == 0 else { throw LoRAGradError.outOfRange(quantity: call, reason: "failed with MPI error code \(status)") }
  }
}
