/// The cost model that picks a path: the flops of each path divided by kernel rates per thread.
/// The choice compares one-thread predictions, so it does not depend on the thread count (the
/// same problem takes the same path, and gives the same bits, on any number of threads).
public struct CostModel: Sendable, Equatable {
  /// Flops per second per thread of the exact path, counting `exactFlops` (forward and backward).
  public var exactFlopRate: Double
  /// Flops per second per thread of the polynomial path, counting `polynomialFlops`.
  public var polynomialFlopRate: Double
  /// Fixed seconds per call of the polynomial path (planning, fits, statistics).
  public var polynomialOverhead: Double
  /// Where the rates came from ("nominal", or a calibration file and its date).
  public var source: String

  /// A model from its rates.
  public init(exactFlopRate: Double, polynomialFlopRate: Double, polynomialOverhead: Double, source: String) {
    self.exactFlopRate = exactFlopRate
    self.polynomialFlopRate = polynomialFlopRate
    self.polynomialOverhead = polynomialOverhead
    self.source = source
  }

  /// The library's fixed default: rates measured by `loragrad-bench calibrate` on one core of an
  /// AMD EPYC with AVX-512 (2026-11-24), 70 GFLOP/s exact and 100 GFLOP/s polynomial per thread,
  /// 2 ms overhead. `loragrad` loads a calibration file of this machine instead when one exists.
  public static let nominal = CostModel(
    exactFlopRate: 70e9, polynomialFlopRate: 100e9, polynomialOverhead: 0.002, source: "nominal")

  /// The flops of exact attention, forward and backward, as LoRAGrad counts them: 12 per visible
  /// (query, key) pair and model column, 12·N·L²·D without masks (SPEC §2); the causal mask and
  /// key padding count only the pairs they leave visible.
  public static func exactFlops(_ shape: AttentionShape) -> Double {
    12 * shape.visiblePairs * Double(shape.width)
  }

  /// The flops of the polynomial path, forward and backward, at `featureCount` features k per
  /// query block: per row 4·k·(2h + 7)·h_s (the key-side GEMMs of width (h + 3)·h_s and 2·h_s,
  /// the query-side GEMMs of width (h + 3)·h_s, 2·h_s and twice (h + 2)·h_s; h_s = h rounded up
  /// to 16), plus, causal, the exact in-chunk attention: 14·h_s per visible pair of a chunk.
  public static func polynomialFlops(_ shape: AttentionShape, featureCount k: Int, chunkRows: Int) -> Double {
    let hs = Double(roundUp(shape.headWidth, toMultipleOf: vectorFloats))
    let rows = Double(shape.sequences * shape.heads * shape.length)
    var flops = rows * 4 * Double(k) * Double(2 * shape.headWidth + 7) * hs
    if shape.causal { flops += rows * Double(chunkRows + 1) / 2 * 14 * hs }
    return flops
  }

  /// Predicted seconds of the exact path on one thread.
  public func exactSeconds(_ shape: AttentionShape) -> Double {
    Self.exactFlops(shape) / exactFlopRate
  }

  /// Predicted seconds of the polynomial path on one thread.
  public func polynomialSeconds(_ shape: AttentionShape, featureCount: Int, chunkRows: Int) -> Double {
    Self.polynomialFlops(shape, featureCount: featureCount, chunkRows: chunkRows) / polynomialFlopRate + polynomialOverhead
  }

  /// The sequence length above which the polynomial path is predicted to win for head width h at
  /// k features (exact ∝ L², polynomial ∝ L; causal halves the exact cost).
  public func crossoverLength(headWidth h: Int, featureCount k: Int, causal: Bool, chunkRows: Int) -> Double {
    let hs = Double(roundUp(h, toMultipleOf: vectorFloats))
    let exactPerSquare = 12 * Double(h) * (causal ? 0.5 : 1) / exactFlopRate
    var polynomialPerRow = 4 * Double(k) * Double(2 * h + 7) * hs
    if causal { polynomialPerRow += Double(chunkRows + 1) / 2 * 14 * hs }
    return polynomialPerRow / polynomialFlopRate / exactPerSquare
  }
}

/// The sizes and masks of one attention computation, all the cost model needs.
public struct AttentionShape: Sendable, Equatable {
  /// N.
  public var sequences: Int
  /// L.
  public var length: Int
  /// H.
  public var heads: Int
  /// h = D / H.
  public var headWidth: Int
  /// Whether key j > i is hidden.
  public var causal: Bool
  /// The visible keys ℓ_n per sequence (nil: all L).
  public var keyLengths: [Int]?

  /// A shape from its parts.
  public init(sequences: Int, length: Int, heads: Int, headWidth: Int, causal: Bool = false, keyLengths: [Int]? = nil) {
    self.sequences = sequences
    self.length = length
    self.heads = heads
    self.headWidth = headWidth
    self.causal = causal
    self.keyLengths = keyLengths
  }

  /// D = H·h.
  public var width: Int { heads * headWidth }

  /// Σ_n Σ_i (keys query i of sequence n sees): N·L² without masks, about half that when causal.
  public var visiblePairs: Double {
    (0..<sequences).reduce(0.0) { total, n in
      let visible = Double(keyLengths?[n] ?? length), l = Double(length)
      guard causal else { return total + l * visible }
      // Σ_{i<L} min(i + 1, ℓ) = ℓ(ℓ + 1)/2 + (L − ℓ)·ℓ.
      return total + visible * (visible + 1) / 2 + (l - visible) * visible
    }
  }
}
