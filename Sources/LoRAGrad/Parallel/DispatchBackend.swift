import CLoRAGradKernels
import Dispatch

/// The Dispatch backend: `concurrentPerform` starts `threads` workers (never more than there are
/// tiles), each claiming the next tile index from a shared atomic counter until none are left.
/// Each tile runs a single-threaded C kernel; which worker ran which tile never changes a result.
public struct DispatchBackend: TileBackend {
  /// "dispatch".
  public let name = "dispatch"
  /// A Dispatch backend.
  public init() {}

  /// Runs the tiles on `threads` concurrentPerform workers with dynamic claiming.
  public func run(tiles count: Int, threads: Int, tile: lgk_tile_fn, context: UnsafeRawPointer) {
    let workers = min(max(threads, 1), count)
    guard workers > 1 else {
      for t in 0..<count { tile(context, Int64(t)) }
      return
    }
    let counter = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    counter.initialize(to: 0)
    defer { counter.deallocate() }
    let shared = SendablePointers(counter: counter, context: context)
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      while true {
        let t = lgk_claim_tile(shared.counter)
        if t >= Int64(count) { break }
        tile(shared.context, t)
      }
    }
  }
}

/// The raw pointers a worker closure needs, declared safe to share: the counter is only touched
/// atomically, and the context is read-only during a phase.
private struct SendablePointers: @unchecked Sendable {
  let counter: UnsafeMutablePointer<Int64>
  let context: UnsafeRawPointer
}
