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
