import Foundation
import LoRAGrad
import XCTest

/// The `loragrad` executable end to end: output files, the JSON line, exit codes and messages.
final class CommandLineTests: XCTestCase {
  private func run(_ arguments: [String]) throws -> ToolOutcome { try runLoRAGrad(arguments) }

  private func scratch(_ name: String) -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("loragrad-cli-\(name)-\(UUID().uuidString)").path
    addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
  }

  private func jsonLine(_ text: String) throws -> [String: Any] {
    let lines = text.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, "expected exactly one line on stdout: \(text)")
    return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
  }

  func testGradWritesEveryGradientAndOneJSONLine() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 40, width: 16, heads: 2, rank: 2, adapted: [.query, .value], seed: 3)
    let input = scratch("in"), output = scratch("out")
    try problem.write(directory: input)
    let outcome = try run(["grad", input, "--out", output, "--threads", "2", "--backend", "openmp"])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let summary = try jsonLine(outcome.standardOutput)
    XCTAssertEqual(summary["method"] as? String, "exact")
    XCTAssertEqual(summary["backend"] as? String, "openmp")
    XCTAssertEqual(summary["threads"] as? Int, 2)
    XCTAssertNotNil(summary["seconds"] as? Double)
    let written = try Gradients(directory: output)
    let reference = ReferenceAttention.gradients(problem)
    XCTAssertEqual(Set(written.adapters.keys), [.query, .value])
    XCTAssertEqual(summary["loss"] as? Double ?? 0, reference.loss, accuracy: 1e-4 * reference.loss)
    assertClose(written, reference, tolerance: FlashAttention.roundingTolerance(problem))
    let files = try FileManager.default.contentsOfDirectory(atPath: output).sorted()
    XCTAssertEqual(files, ["grad_lora_a_q.npy", "grad_lora_a_v.npy", "grad_lora_b_q.npy", "grad_lora_b_v.npy", "loss.npy"])
  }

  func testPolynomialMethodReportsTheRegime() throws {
    let problem = try AttentionProblem.synthetic(length: 64, width: 16, heads: 1, rank: 2, normBound: 0.5, seed: 4)
    let input = scratch("in"), output = scratch("out")
    try problem.write(directory: input)
    let outcome = try run(["grad", input, "--out", output, "--method", "poly", "--tol", "1e-3", "--check", "4"])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let summary = try jsonLine(outcome.standardOutput)
    XCTAssertEqual(summary["path"] as? String, "poly")
    for key in ["degree", "rank", "bound", "gamma", "error_bound", "predicted_exact_seconds", "predicted_poly_seconds", "observed_error_p"] {
      XCTAssertNotNil(summary[key], key)
    }
    XCTAssertLessThanOrEqual(summary["observed_error_p"] as? Double ?? 1, summary["error_bound"] as? Double ?? 0)
    // SPEC §3.4: the degree per block and the predicted flops of both paths. L = 64 is one block.
    let degree = try XCTUnwrap(summary["degree"] as? Int)
    XCTAssertEqual(summary["blocks_per_degree"] as? [String: Int], [String(degree): 1])
    let exactFlops = try XCTUnwrap(summary["predicted_exact_flops"] as? Double)
    XCTAssertEqual(exactFlops, 14 * 64 * 64 * 16)
    XCTAssertGreaterThan(try XCTUnwrap(summary["predicted_poly_flops"] as? Double), 0)
    XCTAssertNotNil(summary["rounding_error"] as? Double)
  }

  func testPolynomialRefusesLargeLogitsAndAutoFallsBack() throws {
    let problem = try AttentionProblem.synthetic(length: 48, width: 8, heads: 1, rank: 2, normBound: 200, seed: 5)
    let input = scratch("in"), output = scratch("out")
    try problem.write(directory: input)
    let refused = try run(["grad", input, "--out", output, "--method", "poly"])
    XCTAssertEqual(refused.status, 2)
    XCTAssertTrue(refused.standardError.contains("R = "), refused.standardError)
    XCTAssertTrue(refused.standardError.contains("degree above 24"), refused.standardError)
    XCTAssertTrue(refused.standardError.contains("rank above C(8+24, 24) ≈ 1.05e+07"), refused.standardError)
    XCTAssertFalse(FileManager.default.fileExists(atPath: output), "a refused run must leave no output")
    let auto = try run(["grad", input, "--out", output, "--method", "auto"])
    XCTAssertEqual(auto.status, 0, auto.standardError)
    XCTAssertEqual(try jsonLine(auto.standardOutput)["path"] as? String, "exact")
    let regime = try run(["regime", input, "--tol", "1e-3"])
    XCTAssertEqual(regime.status, 0, regime.standardError)
    XCTAssertEqual(try jsonLine(regime.standardOutput)["verdict"] as? String, "exact")
  }

  func testBadOptionsExitTwoNamingTheArgument() throws {
    let problem = try AttentionProblem.synthetic(length: 8, width: 4, rank: 1, seed: 6)
    let input = scratch("in"), output = scratch("out")
    try problem.write(directory: input)
    let cases: [([String], String)] = [
      (["grad", input, "--out", output, "--threads", "0"], "--threads"),
      (["grad", input, "--out", output, "--backend", "gpu"], "--backend"),
      (["grad", input, "--out", output, "--method", "magic"], "--method"),
      (["grad", input, "--out", output, "--tol", "1.5"], "--tol"),
      (["grad", input, "--out", output, "--tol", "0"], "--tol"),
      (["grad", input], "--out"),
      (["grad", input + "-missing", "--out", output], input + "-missing"),
      (["grad", input, "--out", output, "--frobnicate"], "--frobnicate"),
      (["transmogrify"], "command"),
    ]
    for (arguments, culprit) in cases {
      let outcome = try run(arguments)
      XCTAssertEqual(outcome.status, 2, "\(arguments)")
      XCTAssertTrue(outcome.standardError.contains(culprit), "\(arguments): \(outcome.standardError)")
      XCTAssertEqual(outcome.standardError.split(separator: "\n").count, 1, "one message: \(outcome.standardError)")
      XCTAssertTrue(outcome.standardOutput.isEmpty, "\(arguments)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: output))
  }

  func testOutputPathThatIsAFileIsRefused() throws {
    let problem = try AttentionProblem.synthetic(length: 8, width: 4, rank: 1, seed: 7)
    let input = scratch("in"), output = scratch("file")
    try problem.write(directory: input)
    _ = FileManager.default.createFile(atPath: output, contents: Data("not a directory".utf8))
    let outcome = try run(["grad", input, "--out", output])
    XCTAssertEqual(outcome.status, 2)
    XCTAssertTrue(outcome.standardError.contains(output), outcome.standardError)
  }

  func testHelpForToolAndEachCommand() throws {
    for arguments in [["--help"], ["demo", "--help"], ["grad", "--help"], ["regime", "--help"]] {
      let outcome = try run(arguments)
      XCTAssertEqual(outcome.status, 0)
      XCTAssertTrue(outcome.standardOutput.contains("usage: loragrad"), "\(arguments)")
    }
  }

  func testDemoRunsOnTheEmbeddedProblem() throws {
    let outcome = try run(["demo", "--length", "256", "--poly-length", "512", "--threads", "2"])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    XCTAssertTrue(outcome.standardOutput.contains("GFLOP/s"), outcome.standardOutput)
    XCTAssertTrue(outcome.standardOutput.contains("loss"), outcome.standardOutput)
    XCTAssertTrue(outcome.standardOutput.contains("speedup"), outcome.standardOutput)
    XCTAssertTrue(outcome.standardOutput.contains("regime verdict"), outcome.standardOutput)
  }
}
