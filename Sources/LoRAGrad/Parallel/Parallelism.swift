import CLoRAGradKernels

/// A way of running the tiles of a phase across threads (implemented by the serial, Dispatch and
/// OpenMP backends): every tile index runs exactly once, worker w working in its own slice of
/// the scratch, on at most `workers` threads at a time.
package protocol PhaseBackend: Sendable {
  /// The backend's name as the command line spells it ("serial", "dispatch", "openmp").
  var name: String { get }
  /// Runs every tile of `phase`; worker w uses scratch + w·scratchStride. Returns when all are done.
  func run(_ phase: UnsafePointer<lgk_phase>, scratch: UnsafeMutablePointer<Float>, scratchStride: Int, workers: Int)
}

/// How a computation uses the cores: one backend and an explicit thread count. Tiles never
/// depend on the thread count and every reduction adds partial sums in tile order, so results are
/// the same bits for any `Parallelism`.
public struct Parallelism: Sendable, CustomStringConvertible {
  /// The number of threads, at least 1 (checked when a computation starts).
  public let threads: Int
  package let backend: any PhaseBackend

  package init(backend: any PhaseBackend, threads: Int) {
    self.backend = backend
    self.threads = threads
  }

  /// Every tile on the calling thread, in index order.
  public static let serial = Parallelism(backend: SerialBackend(), threads: 1)

  /// `DispatchQueue.concurrentPerform` with `threads` workers claiming tiles from a shared counter.
  public static func dispatch(threads: Int) -> Parallelism {
    Parallelism(backend: DispatchBackend(), threads: threads)
  }

  /// The backend's name: "serial", "dispatch" or "openmp".
  public var backendName: String { backend.name }

  /// "backend×threads", e.g. "dispatch×2".
  public var description: String { "\(backend.name)×\(threads)" }

  /// Throws unless the thread count is at least 1.
  func validate() throws {
    guard threads >= 1 else {
      throw LoRAGradError.invalidArgument(argument: "threads", expected: "an integer ≥ 1", given: "\(threads)")
    }
  }

  /// Runs every tile of `phase`, giving each worker its scratch from one allocation made here
  /// (once per phase, never inside a tile); throws `resourceExhausted` when it cannot be had.
  func run(_ phase: Phase) throws {
    var descriptor = phase.descriptor
    guard descriptor.tiles > 0 else { return }
    let workers = max(1, min(threads, Int(descriptor.tiles)))
    let stride = Int(descriptor.scratch_floats)
    let scratch = try FloatBuffer(count: max(workers * stride, vectorFloats), what: "scratch of the \(phase.name) phase", zeroed: false)
    withUnsafePointer(to: &descriptor) { pointer in
      backend.run(pointer, scratch: scratch.base, scratchStride: stride, workers: workers)
    }
    withExtendedLifetime(phase) {}
  }
}

/// The backend that runs every tile on the calling thread, in order.
struct SerialBackend: PhaseBackend {
  let name = "serial"

  func run(_ phase: UnsafePointer<lgk_phase>, scratch: UnsafeMutablePointer<Float>, scratchStride: Int, workers: Int) {
    for t in 0..<phase.pointee.tiles { phase.pointee.tile(phase.pointee.params, t, scratch) }
  }
}
