import CLoRAGradABI
import LoRAGrad
import LoRAGradOpenMP

/// What an `lgr_layer *` points to: a validated, immutable layer (its buffer pool, shared with the
/// layers made from it, is its one mutable part, and is locked).
final class LayerHandle: Sendable {
  /// The layer every call on this handle computes.
  let layer: AttentionLayer

  init(_ layer: AttentionLayer) { self.layer = layer }

  /// The handle behind a C pointer, or a failure naming `argument` when it is NULL.
  static func from(_ pointer: OpaquePointer?, _ argument: String = "layer") throws -> LayerHandle {
    guard let pointer else { throw ABIFailure.null(argument, "a layer from lgr_layer_create") }
    return Unmanaged<LayerHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
  }
}

/// What an `lgr_saved *` points to: a forward pass, the layer and the sizes it was made with.
final class SavedHandle: Sendable {
  /// Z, lse, the path and its analysis.
  let forward: LayerForward
  /// The layer of that forward pass (kept alive, and compared by identity in backward).
  let layer: LayerHandle
  /// The method that was asked for ("exact", "poly", "auto", "reference") and its tolerance.
  let method: AttentionMethod
  /// N and L of that call.
  let sequences: Int64, length: Int64

  init(forward: LayerForward, layer: LayerHandle, method: AttentionMethod, sequences: Int64, length: Int64) {
    self.forward = forward
    self.layer = layer
    self.method = method
    self.sequences = sequences
    self.length = length
  }

  /// The handle behind a C pointer, or a failure when it is NULL.
  static func from(_ pointer: OpaquePointer?) throws -> SavedHandle {
    guard let pointer else { throw ABIFailure.null("saved", "the saved state of lgr_forward") }
    return Unmanaged<SavedHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
  }
}

/// `lgr_options` as the Swift API's method and execution options.
struct ABIOptions {
  /// The method of the call (backward ignores it).
  let method: AttentionMethod
  /// ε for poly and auto.
  let tolerance: Double
  /// Backend, threads, the widest instruction set, the nominal cost model.
  let execution: ExecutionOptions

  /// The highest thread count accepted.
  static let maximumThreads: Int32 = 4096

  /// Validates `options` (NULL: the defaults of lgr_options_init).
  init(_ options: UnsafePointer<lgr_options>?) throws {
    var value = lgr_options()
    if let options { value = options.pointee } else { lgr_options_init(&value) }
    guard value.abi_version == LGR_ABI_VERSION else {
      throw ABIFailure.invalid("options.abi_version", "LGR_ABI_VERSION = \(LGR_ABI_VERSION) (use lgr_options_init)", "\(value.abi_version)")
    }
    let precision: ExactPrecision
    switch value.precision {
    case Int32(LGR_PRECISION_FLOAT32.rawValue): precision = .float32
    case Int32(LGR_PRECISION_BFLOAT16.rawValue): precision = .bfloat16
    default: throw ABIFailure.invalid("options.precision", "LGR_PRECISION_FLOAT32 (0) or LGR_PRECISION_BFLOAT16 (1)", "\(value.precision)")
    }
    guard precision == .float32 || value.method == Int32(LGR_METHOD_EXACT.rawValue) else {
      throw ABIFailure.invalid(
        "options.precision", "LGR_PRECISION_FLOAT32 with this method (bfloat16 is for LGR_METHOD_EXACT; the polynomial path and its bound are float32)",
        "LGR_PRECISION_BFLOAT16")
    }
    guard value.threads >= 1, value.threads <= Self.maximumThreads else {
      throw ABIFailure.invalid("options.threads", "a thread count in 1…\(Self.maximumThreads)", "\(value.threads)")
    }
    let threads = Int(value.threads)
    let parallelism: Parallelism
    switch value.backend {
    case Int32(LGR_BACKEND_DISPATCH.rawValue): parallelism = .dispatch(threads: threads)
    case Int32(LGR_BACKEND_OPENMP.rawValue): parallelism = .openmp(threads: threads)
    case Int32(LGR_BACKEND_SERIAL.rawValue): parallelism = .serial
    default: throw ABIFailure.invalid("options.backend", "LGR_BACKEND_DISPATCH (0), LGR_BACKEND_OPENMP (1) or LGR_BACKEND_SERIAL (2)", "\(value.backend)")
    }
    let tolerance = value.tolerance
    let settings = PolynomialSettings(tolerance: tolerance)
    switch value.method {
    case Int32(LGR_METHOD_EXACT.rawValue): method = .exact(FlashTiling(precision: precision))
    case Int32(LGR_METHOD_POLY.rawValue): method = .polynomial(settings)
    case Int32(LGR_METHOD_AUTO.rawValue): method = .auto(settings)
    case Int32(LGR_METHOD_REFERENCE.rawValue): method = .reference
    default:
      throw ABIFailure.invalid(
        "options.method", "LGR_METHOD_EXACT (0), LGR_METHOD_POLY (1), LGR_METHOD_AUTO (2) or LGR_METHOD_REFERENCE (3)", "\(value.method)")
    }
    if value.method == Int32(LGR_METHOD_POLY.rawValue) || value.method == Int32(LGR_METHOD_AUTO.rawValue) {
      guard tolerance > 0, tolerance < 1 else { throw ABIFailure.invalid("options.tolerance", "a number in (0, 1)", "\(tolerance)") }
    }
    self.tolerance = tolerance
    self.execution = ExecutionOptions(parallelism: parallelism)
  }
}
