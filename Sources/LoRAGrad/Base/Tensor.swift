/// A dense row-major array of Float32 scalars with an explicit shape.
public struct Tensor: Equatable, Sendable {
  /// The extent of each axis, outermost first.
  public let shape: [Int]
  /// The scalars in row-major (C) order; `scalars.count` is the product of `shape`.
  public var scalars: [Float]

  /// A tensor of the given shape holding `scalars` in row-major order.
  public init(shape: [Int], scalars: [Float]) throws {
    guard shape.allSatisfy({ $0 >= 0 }) else {
      throw LoRAGradError.invalidArgument(
        argument: "shape", expected: "non-negative extents", given: "\(shape)")
    }
    let count = shape.reduce(1, *)
    guard count == scalars.count else {
      throw LoRAGradError.shapeMismatch(
        name: "tensor", expected: "\(shape) (\(count) scalars)", given: "\(scalars.count) scalars")
    }
    self.shape = shape
    self.scalars = scalars
  }

  /// A tensor of the given shape filled with zeros.
  public init(zeros shape: [Int]) {
    self.shape = shape
    self.scalars = [Float](repeating: 0, count: shape.reduce(1, *))
  }

  /// The number of scalars, the product of the extents.
  public var count: Int { scalars.count }

  /// The number of axes.
  public var rank: Int { shape.count }

  /// The same scalars viewed with another shape of equal size.
  public func reshaped(_ newShape: [Int]) throws -> Tensor {
    try Tensor(shape: newShape, scalars: scalars)
  }

  /// The flat index of the first NaN or ±Inf, or nil when every scalar is finite.
  public var firstNonFiniteIndex: Int? { scalars.firstNonFiniteIndex }

  /// The shape written as "[a, b, c]".
  public var shapeDescription: String { Self.describe(shape) }

  /// A shape written as "[a, b, c]".
  public static func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}

extension Tensor {
  /// A tensor whose shape the caller has already matched to the scalars (internal use only).
  package init(checkedShape shape: [Int], scalars: [Float]) {
    precondition(shape.reduce(1, *) == scalars.count, "internal shape mismatch")
    self.shape = shape
    self.scalars = scalars
  }
}

extension Array where Element == Float {
  /// The index of the first NaN or ±Inf, or nil when every value is finite. A value is non-finite
  /// exactly when its exponent bits are all ones: the largest exponent field of a chunk says
  /// whether to look inside it (a loop the compiler vectorises).
  var firstNonFiniteIndex: Int? {
    withUnsafeBufferPointer { buffer -> Int? in
      let exponent: UInt32 = 0x7F80_0000
      var start = 0
      while start < buffer.count {
        let end = Swift.min(start + 4096, buffer.count)
        var largest: UInt32 = 0
        for index in start..<end { largest = Swift.max(largest, buffer[index].bitPattern & exponent) }
        if largest == exponent { return (start..<end).first { !buffer[$0].isFinite } }
        start = end
      }
      return nil
    }
  }
}
