import CLoRAGradKernels
import CLoRAGradOpenMP
import LoRAGrad

/// The OpenMP backend: the tiles run inside the C target's own `#pragma omp parallel for`
/// (dynamic schedule, one tile at a time) with `num_threads(threads)`.
public struct OpenMPBackend: TileBackend {
  /// "openmp".
  public let name = "openmp"
  /// An OpenMP backend.
  public init() {}

  /// Runs the tiles in an OpenMP parallel loop on `threads` threads.
  public func run(tiles count: Int, threads: Int, tile: lgk_tile_fn, context: UnsafeRawPointer) {
    lgomp_parallel_tiles(tile, context, Int64(count), Int32(clamping: threads))
  }
}

extension Parallelism {
  /// The OpenMP backend with an explicit thread count.
  public static func openmp(threads: Int) -> Parallelism {
    Parallelism(backend: OpenMPBackend(), threads: threads)
  }
}
