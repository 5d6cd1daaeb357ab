import LoRAGrad
import XCTest

/// max|g̃ − g| / max|g| over every adapter gradient of two results (the worst case).
func worstRelativeError(_ candidate: Gradients, _ reference: Gradients) -> Double {
  candidate.maxRelativeDifference(from: reference)
}

/// Asserts that two results hold the same adapters and agree to `tolerance` (relative, per matrix).
func assertClose(
  _ candidate: Gradients, _ reference: Gradients, tolerance: Double, _ message: String = "",
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(Set(candidate.adapters.keys), Set(reference.adapters.keys), message, file: file, line: line)
  let error = worstRelativeError(candidate, reference)
  XCTAssertLessThanOrEqual(error, tolerance, "gradient error \(error) > \(tolerance) \(message)", file: file, line: line)
  let lossError = abs(candidate.loss - reference.loss) / max(abs(reference.loss), 1e-30)
  XCTAssertLessThanOrEqual(lossError, tolerance, "loss error \(lossError) > \(tolerance) \(message)", file: file, line: line)
}

/// Asserts that, entry by entry, |g̃ − g| ≤ tolerance·max|g| + floor for every adapter matrix:
/// the relative rounding model of the exact path plus its absolute cancellation floor
/// (`FlashAttention.cancellationFloor`). Returns the largest ratio |g̃ − g| / (tolerance·max|g| + floor).
@discardableResult
func assertWithinRoundingModel(
  _ candidate: Gradients, _ reference: Gradients, tolerance: Double,
  floor: [Projection: (a: [Double], b: [Double])], _ message: String = "",
  file: StaticString = #filePath, line: UInt = #line
) -> Double {
  XCTAssertEqual(Set(candidate.adapters.keys), Set(reference.adapters.keys), message, file: file, line: line)
  var worst = 0.0
  for (projection, expected) in reference.adapters {
    guard let actual = candidate.adapters[projection] else { continue }
    let floors = floor[projection] ?? (a: [], b: [])
    for (name, x, y, f) in [("A", actual.a, expected.a, floors.a), ("B", actual.b, expected.b, floors.b)] {
      let scale = y.scalars.map { abs(Double($0)) }.max() ?? 0
      for index in y.scalars.indices {
        let allowed = tolerance * scale + (f.isEmpty ? 0 : f[index])
        let error = abs(Double(x.scalars[index]) - Double(y.scalars[index]))
        let ratio = allowed > 0 ? error / allowed : (error == 0 ? 0 : .infinity)
        worst = max(worst, ratio)
        if ratio > 1 {
          XCTFail(
            "∂\(name)_\(projection.rawValue)[\(index)]: |error| \(error) > \(allowed) (tolerance·max|g| \(tolerance * scale) + floor) \(message)",
            file: file, line: line)
          return worst
        }
      }
    }
  }
  return worst
}
