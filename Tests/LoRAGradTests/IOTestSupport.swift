import Foundation
@testable import LoRAGrad
import LoRAGradIO
import XCTest

/// A fresh, uniquely named path under the system temporary directory ending in `suffix` (not yet
/// created), removed with everything in it when `test` ends.
func ioScratchPath(_ test: XCTestCase, _ label: String = "io", suffix: String = "") -> String {
  let path = FileManager.default.temporaryDirectory
    .appendingPathComponent("loragrad-\(label)-\(UUID().uuidString)\(suffix)").path
  test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
  return path
}

/// Runs `body`, asserts that it throws a `LoRAGradError` accepted by `matches` whose message
/// contains every string in `mentions`, and returns that error.
@discardableResult
func assertIOError<T>(
  _ body: @autoclosure () throws -> T, mentions: [String], file: StaticString = #filePath, line: UInt = #line,
  matches: (LoRAGradError) -> Bool
) -> LoRAGradError? {
  do {
    _ = try body()
    XCTFail("expected an error mentioning \(mentions)", file: file, line: line)
    return nil
  } catch let error as LoRAGradError {
    XCTAssertTrue(matches(error), "unexpected error case: \(error)", file: file, line: line)
    for text in mentions {
      XCTAssertTrue(error.description.contains(text), "'\(error)' does not mention '\(text)'", file: file, line: line)
    }
    return error
  } catch {
    XCTFail("expected a LoRAGradError, got \(error)", file: file, line: line)
    return nil
  }
}

/// Whether the error is `invalidFile`.
func isInvalidFile(_ error: LoRAGradError) -> Bool {
  if case .invalidFile = error { return true }
  return false
}

/// Whether the error is `fileSystem`.
func isFileSystem(_ error: LoRAGradError) -> Bool {
  if case .fileSystem = error { return true }
  return false
}

/// The bytes of a hand-built `.npy` file: magic, version, the raw header text (length field of
/// 2 bytes for version 1, else 4) and the data bytes, with no padding or checks.
func npyFixture(major: UInt8 = 1, minor: UInt8 = 0, header: String, data: [UInt8]) -> [UInt8] {
  let headerBytes = Array(header.utf8)
  var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, minor]
  for i in 0..<(major == 1 ? 2 : 4) { bytes.append(UInt8(truncatingIfNeeded: headerBytes.count >> (8 * i))) }
  return bytes + headerBytes + data
}

/// Little-endian float32 bytes of `values`.
func float32Bytes(_ values: [Float]) -> [UInt8] {
  values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
}

/// Little-endian float64 bytes of `values`.
func float64Bytes(_ values: [Double]) -> [UInt8] {
  values.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
}

/// Writes `bytes` to `path`, failing the test if that is impossible.
func writeIOFixture(_ bytes: [UInt8], to path: String, file: StaticString = #filePath, line: UInt = #line) {
  XCTAssertTrue(
    FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)", file: file, line: line)
}

/// A deterministic tensor of the given shape with varied, exactly representable values.
func ioTestTensor(_ shape: [Int], seed: Int) -> Tensor {
  let count = shape.reduce(1, *)
  let scalars = (0..<count).map { i in Float((i &* 37 &+ seed &* 101) % 97 - 48) / 64 }
  return try! Tensor(shape: shape, scalars: scalars)
}

// MARK: - The squared-loss problem as the file-level tests build it

extension AttentionProblem {
  /// A squared-loss problem from its tensors (the layer built from the weights and adapters).
  init(
    inputs: Tensor, targets: Tensor, frozenWeights: [Projection: Tensor], adapters: [Projection: LoRAAdapter], heads: Int,
    alpha: Double? = nil, beta: Double? = nil
  ) throws {
    try self.init(
      layer: AttentionLayer(frozenWeights: frozenWeights, adapters: adapters, heads: heads, alpha: alpha, beta: beta),
      inputs: inputs, objective: .squaredError(targets: targets))
  }

  /// Y of a squared-loss problem.
  var targets: Tensor {
    guard case .squaredError(let targets) = objective else { fatalError("not a squared-loss problem") }
    return targets
  }
}

extension AttentionProblem {
  /// The problem stored in a directory.
  init(directory: String) throws { self = try ProblemDirectory.load(directory) }
  /// Writes the problem into a directory.
  func write(directory: String) throws { try ProblemDirectory.write(self, to: directory) }
  var frozenWeights: [Projection: Tensor] { layer.frozenWeights }
  var adapters: [Projection: LoRAAdapter] { layer.adapters }
  var heads: Int { layer.heads }
  var alpha: Double { layer.alpha }
  var beta: Double { layer.beta }
  var adaptedProjections: [Projection] { layer.adaptedProjections }
  var modelWidth: Int { layer.modelWidth }
  var headWidth: Int { layer.headWidth }
  var loraRank: Int { layer.loraRank }
}

extension Gradients {
  /// The gradients stored in a directory.
  init(directory: String) throws { self = try GradientFiles.read(directory) }
  /// Writes the gradients into a directory.
  func write(directory: String) throws { try GradientFiles.write(self, to: directory) }
}

/// Gradients with no adapters and a one-entry dX, for the output-directory tests.
func emptyGradients() -> Gradients {
  Gradients(loss: 1, adapters: [:], input: ioTestTensor([1], seed: 0), path: .exact)
}
