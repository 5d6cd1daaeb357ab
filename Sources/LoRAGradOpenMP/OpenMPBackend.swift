import CLoRAGradKernels
import CLoRAGradOpenMP
import LoRAGrad

/// The OpenMP backend: the tiles of each phase run inside the C target's own parallel region
/// with `num_threads(threads)`, each thread claiming tiles from a shared counter.
struct OpenMPBackend: PhaseBackend {
  let name = "openmp"

  func run(_ phase: UnsafePointer<lgk_phase>, scratch: UnsafeMutablePointer<Float>, scratchStride: Int, workers: Int) {
    lgomp_run_phase(phase, scratch, Int64(scratchStride), Int32(clamping: workers))
  }
}

extension Parallelism {
  /// The OpenMP backend with an explicit thread count.
  public static func openmp(threads: Int) -> Parallelism {
    Parallelism(backend: OpenMPBackend(), threads: threads)
  }
}
