import LoRAGrad
import LoRAGradOpenMP

/// `--threads N --backend dispatch|openmp|serial`, shared by every command that computes.
public struct ParallelismOptions {
  /// The backend and thread count chosen.
  public let parallelism: Parallelism

  /// The help lines of these options.
  public static let help = """
      --threads N          worker threads, N ≥ 1 (default: the number of cores, \(activeProcessorCount))
      --backend B          dispatch | openmp | serial (default: dispatch)
    """

  /// Parses the options, validating N ≥ 1 and the backend name.
  public init(_ arguments: inout Arguments) throws {
    let backend = try arguments.choice("--backend", default: "dispatch", from: ["dispatch", "openmp", "serial"])
    let threads = try arguments.integer("--threads", default: activeProcessorCount, in: 1...4096)
    switch backend {
    case "openmp": parallelism = .openmp(threads: threads)
    case "serial": parallelism = .serial
    default: parallelism = .dispatch(threads: threads)
    }
  }
}
