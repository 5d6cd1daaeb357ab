import CLoRAGradKernels
import Dispatch

/// The Dispatch backend: `concurrentPerform` starts the workers (never more than there are
/// tiles); worker w claims the next tile index from a shared atomic counter until none are left,
/// working in its own scratch slice. Which worker ran which tile never changes a result.
struct DispatchBackend: PhaseBackend {
  let name = "dispatch"

  func run(_ phase: UnsafePointer<lgk_phase>, scratch: UnsafeMutablePointer<Float>, scratchStride: Int, workers: Int) {
    guard workers > 1 else {
      for t in 0..<phase.pointee.tiles { phase.pointee.tile(phase.pointee.params, t, scratch) }
      return
    }
    let counter = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    counter.initialize(to: 0)
    defer { counter.deallocate() }
    let shared = SharedPointers(phase: phase, counter: counter, scratch: scratch)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      lgk_run_claimed_tiles(shared.phase, shared.counter, shared.scratch + worker * scratchStride)
    }
  }
}

/// The raw pointers the workers share, declared safe to share: the counter is only touched
/// atomically, the phase is read-only while it runs, and each worker writes its own scratch slice.
private struct SharedPointers: @unchecked Sendable {
  let phase: UnsafePointer<lgk_phase>
  let counter: UnsafeMutablePointer<Int64>
  let scratch: UnsafeMutablePointer<Float>
}
