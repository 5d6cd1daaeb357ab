import Foundation
@testable import LoRAGrad
import LoRAGradIO
import LoRAGradCommandLine
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
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 40, width: 16, heads: 2, loraRank: 2, adapted: [.query, .value], seed: 3)
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
    let reference = try problem.gradients(method: .reference, options: .serial)
    XCTAssertEqual(Set(written.adapters.keys), [.query, .value])
    XCTAssertEqual(summary["loss"] as? Double ?? 0, reference.loss!, accuracy: RoundingModel.relativeTolerance(problem) * reference.loss!)
    assertWithinRoundingModel(written, reference, problem: problem)
    let files = try FileManager.default.contentsOfDirectory(atPath: output).sorted()
    XCTAssertEqual(files, ["grad_lora_a_q.npy", "grad_lora_a_v.npy", "grad_lora_b_q.npy", "grad_lora_b_v.npy", "grad_x.npy", "loss.npy"])
    XCTAssertEqual(summary["precision"] as? String, "float32")

    // --precision bf16: the API's bits, reported in the JSON, within the bf16 rounding model.
    let bf16Output = scratch("bf16")
    let bf16 = try run(["grad", input, "--out", bf16Output, "--threads", "2", "--precision", "bf16"])
    XCTAssertEqual(bf16.status, 0, bf16.standardError)
    XCTAssertEqual(try jsonLine(bf16.standardOutput)["precision"] as? String, "bf16")
    let bf16Written = try Gradients(directory: bf16Output)
    assertBitIdentical(bf16Written, try problem.gradients(method: .exact(.bfloat16), options: .dispatch(threads: 2)))
    assertWithinRoundingModel(bf16Written, reference, problem: problem, precision: .bfloat16)
  }

  func testPolynomialMethodReportsTheRegime() throws {
    let problem = try AttentionProblem.synthetic(length: 64, width: 16, heads: 1, loraRank: 2, normBound: 0.5, seed: 4)
    let input = scratch("in"), output = scratch("out")
    try problem.write(directory: input)
    let outcome = try run(["grad", input, "--out", output, "--method", "poly", "--tol", "1e-3", "--check", "4"])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let summary = try jsonLine(outcome.standardOutput)
    XCTAssertEqual(summary["path"] as? String, "poly")
    for key in ["degree", "feature_count", "bound", "gamma", "gamma_centred", "error_bound", "predicted_exact_seconds", "predicted_poly_seconds", "observed_error_p"] {
      XCTAssertNotNil(summary[key], key)
    }
    XCTAssertLessThanOrEqual(summary["observed_error_p"] as? Double ?? 1, summary["error_bound"] as? Double ?? 0)
    // SPEC §3.4: the degree per block and the predicted flops of both paths. L = 64 is one block.
    let degree = try XCTUnwrap(summary["degree"] as? Int)
    XCTAssertEqual(summary["blocks_per_degree"] as? [String: Int], [String(degree): 1])
    let exactFlops = try XCTUnwrap(summary["predicted_exact_flops"] as? Double)
    XCTAssertEqual(exactFlops, 12 * 64 * 64 * 16)
    let featureCount = try XCTUnwrap(summary["feature_count"] as? Int)
    XCTAssertEqual(try XCTUnwrap(summary["predicted_poly_flops"] as? Double), Double(64 * 4 * featureCount * (2 * 16 + 7) * 16))
    XCTAssertNotNil(summary["rounding_error"] as? Double)
    // The bounds on what the user gets hold for the files written, against the Float64 reference
    // (relative to the largest entry, the measure the JSON documents).
    let gradientBounds = try XCTUnwrap(summary["gradient_error_bound"] as? [String: Double])
    XCTAssertEqual(Set(gradientBounds.keys), Set(problem.adapters.keys.flatMap { ["lora_a_\($0.rawValue)", "lora_b_\($0.rawValue)"] } + ["grad_x"]))
    XCTAssertNotNil(summary["output_error_bound"] as? Double)
    let lossBound = try XCTUnwrap(summary["loss_error_bound"] as? Double)
    let written = try Gradients(directory: output)
    let reference = try problem.gradients(method: .reference, options: .serial)
    XCTAssertLessThanOrEqual(abs(try XCTUnwrap(summary["loss"] as? Double) - reference.loss!), lossBound * reference.loss!)
    func relativeError(_ got: Tensor, _ want: Tensor) -> Double {
      var worst = 0.0, largest = 0.0
      for (g, w) in zip(got.scalars, want.scalars) { worst = max(worst, abs(Double(g) - Double(w))); largest = max(largest, abs(Double(w))) }
      return worst / largest
    }
    for projection in reference.adapters.keys {
      let got = try XCTUnwrap(written.adapters[projection]), want = try XCTUnwrap(reference.adapters[projection])
      XCTAssertLessThanOrEqual(relativeError(got.a, want.a), gradientBounds["lora_a_\(projection.rawValue)"]!)
      XCTAssertLessThanOrEqual(relativeError(got.b, want.b), gradientBounds["lora_b_\(projection.rawValue)"]!)
    }
    XCTAssertLessThanOrEqual(relativeError(try XCTUnwrap(written.input), try XCTUnwrap(reference.input)), gradientBounds["grad_x"]!)
  }

  func testPolynomialRefusesLargeLogitsAndAutoFallsBack() throws {
    let problem = try AttentionProblem.synthetic(length: 48, width: 8, heads: 1, loraRank: 2, normBound: 200, seed: 5)
    let input = scratch("in"), output = scratch("out")
    try problem.write(directory: input)
    let refused = try run(["grad", input, "--out", output, "--method", "poly"])
    XCTAssertEqual(refused.status, 2)
    XCTAssertTrue(refused.standardError.contains("R = "), refused.standardError)
    XCTAssertTrue(refused.standardError.contains("degree above 24"), refused.standardError)
    XCTAssertTrue(refused.standardError.contains("feature count above C(8+24, 24) ≈ 1.05e+07"), refused.standardError)
    XCTAssertFalse(FileManager.default.fileExists(atPath: output), "a refused run must leave no output")
    let auto = try run(["grad", input, "--out", output, "--method", "auto"])
    XCTAssertEqual(auto.status, 0, auto.standardError)
    XCTAssertEqual(try jsonLine(auto.standardOutput)["path"] as? String, "exact")
    let regime = try run(["regime", input, "--tol", "1e-3"])
    XCTAssertEqual(regime.status, 0, regime.standardError)
    XCTAssertEqual(try jsonLine(regime.standardOutput)["verdict"] as? String, "exact")
  }

  func testBadOptionsExitTwoNamingTheArgument() throws {
    let problem = try AttentionProblem.synthetic(length: 8, width: 4, loraRank: 1, seed: 6)
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
      (["grad", input, "--out", output, "--precision", "fp16"], "--precision"),
      (["grad", input, "--out", output, "--method", "poly", "--precision", "bf16"], "--precision"),
      (["forward", input, "--out", output, "--method", "auto", "--precision", "bf16"], "--precision"),
      (["profile", "--heads", "3"], "--heads"),
      (["profile", "--method", "poly", "--heads", "4"], "--heads"),
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

  /// `profile` loops the exact path on the embedded problem with the heads asked for and names
  /// them, the iterations and the roof share on stderr, nothing on stdout.
  func testProfileRunsTheHeadsAskedFor() throws {
    let outcome = try run(["profile", "--length", "64", "--heads", "4", "--seconds", "0.05", "--threads", "1"])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    XCTAssertTrue(outcome.standardOutput.isEmpty, outcome.standardOutput)
    for part in ["profile exact H = 4:", "iterations", "% of the", "page faults per iteration after the first"] {
      XCTAssertTrue(outcome.standardError.contains(part), "\(part): \(outcome.standardError)")
    }
    // "<mean> s each (least <least> s)": the least of the iterations is at most their mean.
    let numbers = try XCTUnwrap(outcome.standardError.firstMatch(of: /([0-9.e+-]+) s each \(least ([0-9.e+-]+) s\)/), outcome.standardError)
    let (mean, least) = (try XCTUnwrap(Double(numbers.1)), try XCTUnwrap(Double(numbers.2)))
    XCTAssertGreaterThan(least, 0)
    XCTAssertLessThanOrEqual(least, mean * (1 + 1e-3))  // both printed to 4 digits
    // "the first call <seconds> s with <faults> page faults": one of the iterations, so at least the least.
    let cold = try XCTUnwrap(outcome.standardError.firstMatch(of: /the first call ([0-9.e+-]+) s with ([0-9]+) page faults/), outcome.standardError)
    XCTAssertGreaterThanOrEqual(try XCTUnwrap(Double(cold.1)), least * (1 - 1e-3))
    XCTAssertNotNil(Int(cold.2))
  }

  func testOutputPathThatIsAFileIsRefused() throws {
    let problem = try AttentionProblem.synthetic(length: 8, width: 4, loraRank: 1, seed: 7)
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

  /// The demo's printed numbers are the library's: the losses of parts 1a and 1b against a call.
  func testDemoPrintsWhatTheLibraryComputes() throws {
    let outcome = try run(["demo", "--length", "256", "--poly-length", "512", "--threads", "2"])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let losses = outcome.standardOutput.split(separator: "\n").filter { $0.hasPrefix("  loss") }
      .compactMap { Double($0.split(separator: " ").last ?? "") }
    XCTAssertEqual(losses.count, 2, outcome.standardOutput)
    for (index, causal) in [false, true].enumerated() where index < losses.count {
      let expected = try DemoProblems.exact(length: 256, causal: causal).gradients(method: .exact, options: .dispatch(threads: 2)).loss!
      XCTAssertEqual(losses[index], expected, "demo part 1\(causal ? "b" : "a")")
    }
    for text in ["GFLOP/s", "speedup", "regime verdict", "2b. polynomial vs exact, causal", "1c. bf16 products"] {
      XCTAssertTrue(outcome.standardOutput.contains(text), text)
    }
    // Part 1c's difference is the library's bf16 result against its float32 one.
    let line = try XCTUnwrap(outcome.standardOutput.split(separator: "\n").first { $0.hasPrefix("  accuracy") })
    let printed = try XCTUnwrap(Double(line.split(separator: ":").last!.split(separator: " ").first!))
    let problem = try DemoProblems.exact(length: 256, causal: false)
    let float32 = try problem.gradients(method: .exact, options: .dispatch(threads: 2))
    let bf16 = try problem.gradients(method: .exact(.bfloat16), options: .dispatch(threads: 2))
    XCTAssertEqual(printed, bf16.maxRelativeDifference(from: float32), accuracy: 5e-3 * printed, String(line))  // 3 significant digits
  }
}

/// The layer form through the executable: dz.npy, forward, config keys.
final class LayerCommandLineTests: XCTestCase {
  private func scratch(_ name: String) -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("loragrad-layer-\(name)-\(UUID().uuidString)").path
    addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
  }

  private func jsonLine(_ text: String) throws -> [String: Any] {
    try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.split(separator: "\n").first.map(String.init)?.utf8 ?? "".utf8)) as? [String: Any])
  }

  /// With dz.npy: grad writes grad_x.npy and the adapter gradients but no loss; forward writes
  /// z.npy and lse.npy; both match the library.
  func testUpstreamGradientAndForwardCommand() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 2, length: 30, width: 8, heads: 2, loraRank: 2, seed: 41)
    let input = scratch("in"), output = scratch("out"), forward = scratch("z")
    try ProblemDirectory.write(problem, to: input)
    let grad = try runLoRAGrad(["grad", input, "--out", output, "--threads", "2"])
    XCTAssertEqual(grad.status, 0, grad.standardError)
    let summary = try jsonLine(grad.standardOutput)
    XCTAssertTrue(summary["loss"] is NSNull)
    XCTAssertEqual(summary["causal"] as? Bool, true)
    XCTAssertEqual(summary["lengths"] as? [Int], problem.keyLengths)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: output).sorted(),
                   ["grad_lora_a_k.npy", "grad_lora_a_q.npy", "grad_lora_a_v.npy", "grad_lora_b_k.npy", "grad_lora_b_q.npy", "grad_lora_b_v.npy", "grad_x.npy"])
    let written = try GradientFiles.read(output)
    assertBitIdentical(written, try problem.gradients(options: .dispatch(threads: 2)), "grad command")
    let run = try runLoRAGrad(["forward", input, "--out", forward, "--threads", "2"])
    XCTAssertEqual(run.status, 0, run.standardError)
    let saved = try problem.layer.forward(problem.inputs, keyLengths: problem.keyLengths, options: .dispatch(threads: 2))
    XCTAssertEqual(try NumPyArray.read(path: forward + "/z.npy"), saved.output)
    XCTAssertEqual(try NumPyArray.read(path: forward + "/lse.npy"), saved.logSumExp)
    // forward and regime need neither y.npy nor dz.npy.
    try FileManager.default.removeItem(atPath: input + "/dz.npy")
    XCTAssertEqual(try runLoRAGrad(["forward", input, "--out", forward]).status, 0)
    XCTAssertEqual(try runLoRAGrad(["regime", input]).status, 0)
    XCTAssertEqual(try runLoRAGrad(["grad", input, "--out", scratch("no-objective")]).status, 2)
  }

  /// `"causal": true` changes the result (it is not ignored), and a misspelt key is refused.
  func testCausalKeyIsHonouredAndUnknownKeysRefused() throws {
    let problem = try AttentionProblem.synthetic(length: 20, width: 8, loraRank: 2, seed: 42)
    let input = scratch("in"), plain = scratch("plain"), causal = scratch("causal")
    try ProblemDirectory.write(problem, to: input)
    XCTAssertEqual(try runLoRAGrad(["grad", input, "--out", plain]).status, 0)
    try Data(#"{"heads": 1, "causal": true}"#.utf8).write(to: URL(fileURLWithPath: input + "/config.json"))
    XCTAssertEqual(try runLoRAGrad(["grad", input, "--out", causal]).status, 0)
    let a = try NumPyArray.readScalar(path: plain + "/loss.npy"), b = try NumPyArray.readScalar(path: causal + "/loss.npy")
    XCTAssertNotEqual(a, b)
    try Data(#"{"heads": 1, "casual": true}"#.utf8).write(to: URL(fileURLWithPath: input + "/config.json"))
    let refused = try runLoRAGrad(["grad", input, "--out", scratch("never")])
    XCTAssertEqual(refused.status, 2)
    XCTAssertTrue(refused.standardError.contains("\"casual\""), refused.standardError)
  }
}
