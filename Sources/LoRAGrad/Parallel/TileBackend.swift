import CLoRAGradKernels

/// A way of running the tiles of one phase across threads: every tile index in 0..<count is
/// passed to the C tile function exactly once, on at most `threads` threads at a time.
public protocol TileBackend: Sendable {
  /// The backend's name as the command line spells it ("serial", "dispatch", "openmp").
  var name: String { get }
  /// Runs tile(context, t) for every t in 0..<count on at most `threads` threads; returns when all are done.
  func run(tiles count: Int, threads: Int, tile: lgk_tile_fn, context: UnsafeRawPointer)
}

/// How a computation uses the cores: one backend and an explicit thread count.
public struct Parallelism: Sendable, CustomStringConvertible {
  /// The backend that runs the tiles.
  public let backend: any TileBackend
  /// The number of threads, at least 1 (checked when a computation starts).
  public let threads: Int

  /// A backend with an explicit thread count.
  public init(backend: any TileBackend, threads: Int) {
    self.backend = backend
    self.threads = threads
  }

  /// Every tile on the calling thread, in index order.
  public static let serial = Parallelism(backend: SerialBackend(), threads: 1)

  /// `DispatchQueue.concurrentPerform` with `threads` workers claiming tiles from a shared counter.
  public static func dispatch(threads: Int) -> Parallelism {
    Parallelism(backend: DispatchBackend(), threads: threads)
  }

  /// "backend×threads", e.g. "dispatch×2".
  public var description: String { "\(backend.name)×\(threads)" }

  /// Throws unless the thread count is at least 1.
  public func validate() throws {
    guard threads >= 1 else {
      throw LoRAGradError.invalidArgument(argument: "threads", expected: "an integer ≥ 1", given: "\(threads)")
    }
  }

  /// Runs one phase of `count` tiles of a C tile function over the problem struct `context`.
  public func run<Context>(tiles count: Int, tile: lgk_tile_fn, context: inout Context) {
    withUnsafePointer(to: &context) { pointer in
      backend.run(tiles: count, threads: threads, tile: tile, context: UnsafeRawPointer(pointer))
    }
  }
}

/// The backend that runs every tile on the calling thread, in order.
public struct SerialBackend: TileBackend {
  /// "serial".
  public let name = "serial"
  /// A serial backend.
  public init() {}
  /// Runs the tiles one after another on the calling thread (the thread count is ignored).
  public func run(tiles count: Int, threads: Int, tile: lgk_tile_fn, context: UnsafeRawPointer) {
    for t in 0..<count { tile(context, Int64(t)) }
  }
}
