/// FNV-1a, 64 bits, over little-endian words: the fingerprints of problems and adapters (not a
/// cryptographic hash; it tells a changed input from an unchanged one).
package struct FNV1a {
  /// The hash so far.
  package private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  /// An empty hash.
  package init() {}

  /// Mixes the 8 bytes of `word`, lowest first.
  package mutating func mix(_ word: UInt64) { mix(word, bytes: 8) }

  /// Mixes the 4 bytes of `word`, lowest first.
  package mutating func mix(_ word: UInt32) { mix(UInt64(word), bytes: 4) }

  /// Mixes the shape and the bits of every scalar of `tensor`.
  package mutating func mix(_ tensor: Tensor) {
    mix(UInt64(tensor.shape.count))
    for extent in tensor.shape { mix(UInt64(extent)) }
    for x in tensor.scalars { mix(x.bitPattern) }
  }

  private mutating func mix(_ word: UInt64, bytes: Int) {
    for shift in stride(from: 0, to: 8 * bytes, by: 8) {
      value ^= (word >> UInt64(shift)) & 0xff
      value = value &* 0x0000_0100_0000_01b3
    }
  }
}
