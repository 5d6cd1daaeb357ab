import Foundation

/// How the loss and adapter gradients are computed.
public enum GradientMethod: Sendable, Equatable {
  /// The exact tiled path (FlashAttention-2 style), Float32, quadratic in L, linear memory.
  case exact(FlashTiling = .standard)
  /// The Float64 reference that materialises P (small problems only; the tests' oracle).
  case reference

  /// The exact path with the standard tiling.
  public static var exact: GradientMethod { .exact(.standard) }

  /// The method's name as the command line spells it.
  public var name: String {
    switch self {
    case .exact: return "exact"
    case .reference: return "reference"
    }
  }
}

extension AttentionProblem {
  /// The loss and the gradient of every adapter matrix, by `method`, on the cores `parallelism` names.
  public func gradients(method: GradientMethod = .exact, parallelism: Parallelism) throws -> Gradients {
    try parallelism.validate()
    switch method {
    case let .exact(tiling):
      try tiling.validate()
      return FlashAttention.gradients(self, tiling: tiling, parallelism: parallelism)
    case .reference:
      return ReferenceAttention.gradients(self)
    }
  }
}

extension FlashTiling {
  /// Throws unless the block sizes are positive multiples of 16 and there is at least one key group.
  func validate() throws {
    for (name, value) in [("queryBlock", queryBlock), ("keyBlock", keyBlock)] where value < 16 || value % 16 != 0 {
      throw LoRAGradError.invalidArgument(argument: name, expected: "a positive multiple of 16", given: "\(value)")
    }
    guard maxKeyGroups >= 1 else {
      throw LoRAGradError.invalidArgument(argument: "maxKeyGroups", expected: "an integer ≥ 1", given: "\(maxKeyGroups)")
    }
  }
}

/// The number of cores the operating system reports as active.
public var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }
