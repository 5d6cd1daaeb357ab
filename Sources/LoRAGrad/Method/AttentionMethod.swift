/// How the attention of a layer is computed, forwards and backwards.
public enum AttentionMethod: Sendable, Equatable {
  /// The exact tiled path (FlashAttention-2 style), Float32, quadratic in L, linear memory.
  case exact(FlashTiling)
  /// The almost-linear polynomial path; refuses (`toleranceUnreachable`) when no degree within
  /// the memory budget meets the tolerance.
  case polynomial(PolynomialSettings)
  /// The polynomial path when it meets the tolerance and the cost model predicts it faster, the
  /// exact path otherwise.
  case auto(PolynomialSettings)
  /// The Float64 reference that materialises P (L ≤ 16384; the tests' oracle).
  case reference

  /// The exact path with the standard tiling.
  public static var exact: AttentionMethod { .exact(.standard) }
  /// The polynomial path at tolerance ε with default settings.
  public static func polynomial(tolerance: Double) -> AttentionMethod { .polynomial(PolynomialSettings(tolerance: tolerance)) }
  /// The automatic choice at tolerance ε with default settings.
  public static func auto(tolerance: Double) -> AttentionMethod { .auto(PolynomialSettings(tolerance: tolerance)) }

  /// The arithmetic of the exact path's products under this method (Float32 but for a bf16 exact).
  public var precision: ExactPrecision {
    if case let .exact(tiling) = self { return tiling.precision }
    return .float32
  }

  /// The method's name as the command line spells it.
  public var name: String {
    switch self {
    case .exact: return "exact"
    case .polynomial: return "poly"
    case .auto: return "auto"
    case .reference: return "reference"
    }
  }
}

/// The path a computation took (or a verdict recommends).
public enum AttentionPath: String, Sendable, Equatable, CaseIterable {
  /// The exact tiled path.
  case exact
  /// The polynomial (low-rank) path.
  case polynomial = "poly"
  /// The Float64 reference.
  case reference
}

/// The arithmetic of the exact path's products (SPEC §2.1).
public enum ExactPrecision: String, Sendable, Equatable, CaseIterable {
  /// Float32 operands and accumulation.
  case float32
  /// q̂, k̂, V, dO, P and dS rounded to bfloat16 (nearest even) as GEMM operands, every product
  /// accumulated in Float32 (vdpbf16ps where the CPU has AVX512-BF16, the Float32 kernels on the
  /// rounded values elsewhere: the same bits); softmax, lse, δ, the projections and the adapter
  /// gradients stay Float32. Relative error about 2⁻⁸ per rounding (Docs/Theory.md).
  case bfloat16

  /// The name the command line and the JSON use ("float32", "bf16").
  public var name: String { self == .float32 ? "float32" : "bf16" }

  /// Every name `init(name:)` accepts.
  public static let names = ["float32", "fp32", "bf16", "bfloat16"]

  /// The precision a command-line name denotes ("float32"/"fp32", "bf16"/"bfloat16").
  public init?(name: String) {
    switch name {
    case "float32", "fp32": self = .float32
    case "bf16", "bfloat16": self = .bfloat16
    default: return nil
    }
  }
}

/// The settings of the exact path: block sizes, which are fixed numbers, never derived from the
/// thread count, so the tiles (and every bit of the result) are the same on any number of
/// threads, and the precision of the products. A block size left nil is the kernels' own, from
/// the blocking table of the instruction set in use and the head width (`ExactBlocking`).
public struct FlashTiling: Sendable, Equatable {
  /// Rows of a query block, B_r (nil: the instruction set's blocking).
  public var queryBlock: Int?
  /// Rows of a key block, B_c, also the padding granularity of L (nil: the instruction set's
  /// blocking for the head width).
  public var keyBlock: Int?
  /// The most key groups per (sequence, head) pair: each is one backward tile and keeps its own
  /// partial dq̂ for the rows of a panel, so memory grows by this factor times a panel's rows.
  public var maxKeyGroups: Int
  /// The cache the backward pass gives one panel of query rows (their q̂, dO and partial dq̂, 12
  /// bytes per row and head column): the rows go in panels of about this size, at least one
  /// query block. The panel never changes a result, only where the data sits.
  public var backwardPanelBytes: Int
  /// The arithmetic of the products (the forward pass's, which its backward pass keeps).
  public var precision: ExactPrecision

  /// A tiling from its block sizes (nil: the kernels' blocking) and precision.
  public init(
    queryBlock: Int? = nil, keyBlock: Int? = nil, maxKeyGroups: Int = 16, backwardPanelBytes: Int = 384 << 10,
    precision: ExactPrecision = .float32
  ) {
    self.queryBlock = queryBlock
    self.keyBlock = keyBlock
    self.maxKeyGroups = maxKeyGroups
    self.backwardPanelBytes = backwardPanelBytes
    self.precision = precision
  }

  /// The tiling the library uses by default (Float32, the kernels' blocking).
  public static let standard = FlashTiling()

  /// The standard tiling with bfloat16 products.
  public static let bfloat16 = FlashTiling(precision: .bfloat16)

  /// This tiling with the block sizes left nil taken from `instructionSet`'s blocking at head
  /// width h and this tiling's precision; a table key block longer than 64 is cut to L rounded up
  /// to 64, so a short sequence is padded no further than it would be with 64-key blocks.
  public func resolved(for instructionSet: KernelInstructionSet, headWidth: Int, length: Int) -> FlashTiling {
    let blocking = instructionSet.exactBlocking
    var tiling = self
    tiling.queryBlock = queryBlock ?? blocking.queryBlock
    tiling.keyBlock = keyBlock ?? min(blocking.keyBlock(headWidth: headWidth, precision: precision), max(64, (length + 63) / 64 * 64))
    return tiling
  }

  /// B_r of a resolved tiling.
  var rowsPerQueryBlock: Int {
    guard let queryBlock else { preconditionFailure("FlashTiling used before resolved(for:headWidth:length:)") }
    return queryBlock
  }

  /// B_c of a resolved tiling.
  var keysPerBlock: Int {
    guard let keyBlock else { preconditionFailure("FlashTiling used before resolved(for:headWidth:length:)") }
    return keyBlock
  }

  /// Query rows per backward panel for a head stride: a multiple of B_r, at least B_r.
  func backwardPanelRows(headStride: Int) -> Int {
    let rows = rowsPerQueryBlock
    return max(rows, backwardPanelBytes / (12 * max(headStride, 1)) / rows * rows)
  }

  /// Throws unless the block sizes given are positive multiples of 16 and there is at least one key group.
  func validate() throws {
    for (name, value) in [("queryBlock", queryBlock), ("keyBlock", keyBlock)] {
      guard let value, value < 16 || value % 16 != 0 else { continue }
      throw LoRAGradError.invalidArgument(argument: name, expected: "a positive multiple of 16", given: "\(value)")
    }
    guard maxKeyGroups >= 1 else {
      throw LoRAGradError.invalidArgument(argument: "maxKeyGroups", expected: "an integer ≥ 1", given: "\(maxKeyGroups)")
    }
    guard backwardPanelBytes >= 1 else {
      throw LoRAGradError.invalidArgument(argument: "backwardPanelBytes", expected: "a number of bytes ≥ 1", given: "\(backwardPanelBytes)")
    }
  }
}

/// The settings of the polynomial path.
public struct PolynomialSettings: Sendable, Equatable {
  /// ε: the bound on the entrywise relative error of P̃ the path must meet.
  public var tolerance: Double
  /// Rows per query and key block (each query block gets its own degree).
  public var rowBlock: Int
  /// The most row-block chunks per (sequence, head) pair for the non-causal sums.
  public var maxChunks: Int
  /// The memory the low-rank sums may take, in bytes; it caps the degree (and, causal, the chunks).
  public var memoryBudget: Int
  /// The highest degree considered.
  public var maxDegree: Int
  /// Query rows sampled for the a-posteriori check (0: none), O(rows·L·h).
  public var checkRows: Int

  /// Settings with the given tolerance and default blocks and budget (1 GiB of low-rank sums).
  public init(
    tolerance: Double, rowBlock: Int = 128, maxChunks: Int = 16, memoryBudget: Int = 1 << 30, maxDegree: Int = 24,
    checkRows: Int = 0
  ) {
    self.tolerance = tolerance
    self.rowBlock = rowBlock
    self.maxChunks = maxChunks
    self.memoryBudget = memoryBudget
    self.maxDegree = maxDegree
    self.checkRows = checkRows
  }

  /// Throws unless ε ∈ (0, 1) and the block, chunk, degree and check limits are in range.
  func validate() throws {
    guard tolerance > 0, tolerance < 1 else {
      throw LoRAGradError.invalidArgument(argument: "tolerance", expected: "a number in (0, 1)", given: "\(tolerance)")
    }
    guard rowBlock >= 16, rowBlock % 16 == 0, rowBlock <= 512 else {
      throw LoRAGradError.invalidArgument(argument: "rowBlock", expected: "a multiple of 16 in 16…512", given: "\(rowBlock)")
    }
    guard maxChunks >= 1, maxDegree >= 0, maxDegree <= ExpPolynomial.maximumDegree, memoryBudget > 0 else {
      throw LoRAGradError.invalidArgument(
        argument: "polynomial settings", expected: "maxChunks ≥ 1, 0 ≤ maxDegree ≤ \(ExpPolynomial.maximumDegree), memoryBudget > 0",
        given: "\(maxChunks), \(maxDegree), \(memoryBudget)")
    }
    guard checkRows >= 0 else {
      throw LoRAGradError.invalidArgument(argument: "check", expected: "a number of rows ≥ 0", given: "\(checkRows)")
    }
  }
}
