import CLoRAGradKernels

/// The exact path's block sizes for one instruction set, as data (the table in blocking.c): B_r,
/// and B_c from a budget of bytes per k̂ᵀ key panel (B_c·h elements), clamped to a range.
public struct ExactBlocking: Sendable, Equatable {
  /// B_r, rows of a query block.
  public var queryBlock: Int
  /// B_c·h·(bytes per element), the bytes of one k̂ᵀ key panel the key block aims at.
  public var keyPanelBytes: Int
  /// The shortest and longest key block B_c.
  public var keyBlockRange: ClosedRange<Int>
  /// Whether bf16 operands are stored as pairs, 2 bytes an element (else one per float, 4 bytes).
  public var pairsBFloat16: Bool

  init(_ blocking: lgk_blocking, pairsBFloat16: Bool) {
    queryBlock = Int(blocking.query_block)
    keyPanelBytes = Int(blocking.key_panel_bytes)
    keyBlockRange = Int(blocking.key_block_min)...Int(blocking.key_block_max)
    self.pairsBFloat16 = pairsBFloat16
  }

  /// B_c at head width h with products of `precision`: ⌊keyPanelBytes / (h·bytes per element)⌋
  /// rounded down to a multiple of 16, clamped to the range.
  public func keyBlock(headWidth: Int, precision: ExactPrecision = .float32) -> Int {
    let elementBytes = precision == .bfloat16 && pairsBFloat16 ? 2 : 4
    return Int(lgk_blocking_key_block(
      lgk_blocking(
        query_block: Int64(queryBlock), key_panel_bytes: Int64(keyPanelBytes),
        key_block_min: Int64(keyBlockRange.lowerBound), key_block_max: Int64(keyBlockRange.upperBound)),
      Int64(headWidth), Int64(elementBytes)))
  }
}

extension KernelInstructionSet {
  /// This instruction set's entry in the exact path's blocking table.
  public var exactBlocking: ExactBlocking { ExactBlocking(lgk_blocking_for(kernelValue), pairsBFloat16: multipliesBFloat16) }
}
