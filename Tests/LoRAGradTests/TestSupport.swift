import LoRAGrad
import XCTest

/// max|g̃ − g| / max|g| over every adapter gradient of two results (the worst case).
func worstRelativeError(_ candidate: Gradients, _ reference: Gradients) -> Double {
  var worst = 0.0
  for (projection, expected) in reference.adapters {
    guard let actual = candidate.adapters[projection] else { return .infinity }
    for (x, y) in [(actual.a, expected.a), (actual.b, expected.b)] {
      let scale = y.scalars.map { abs(Double($0)) }.max() ?? 0
      let error = zip(x.scalars, y.scalars).map { abs(Double($0) - Double($1)) }.max() ?? 0
      worst = max(worst, scale == 0 ? error : error / scale)
    }
  }
  return worst
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
