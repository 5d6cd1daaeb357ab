import Foundation

/// A small deterministic pseudo-random generator (SplitMix64), so that synthetic problems and
/// sampled checks are the same on every machine and run.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
  /// The generator's whole state (a checkpoint can store it and resume the same stream).
  public private(set) var state: UInt64

  /// A generator started from `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A standard normal sample (Box–Muller).
  public mutating func nextGaussian() -> Double {
    let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
    let u2 = Double.random(in: 0..<1, using: &self)
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }
}
