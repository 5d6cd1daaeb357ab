@testable import LoRAGrad
import XCTest

/// The layer as a training stack calls it: forward (Z, lse), backward with the caller's dZ, the
/// saved state, the shapes it keeps, and the errors it gives.
final class LayerAPITests: XCTestCase {
  private let options = ExecutionOptions.dispatch(threads: 2)

  /// Z and lse of both fast paths against the Float64 reference, every feature together.
  func testForwardOutputAndLogSumExpMatchTheReference() throws {
    for features in [LayerFeatures.none, .all] {
      let problem = try AttentionProblem.synthetic(features, sequences: 2, length: 90, width: 16, heads: 2, loraRank: 2, normBound: 0.5, seed: 31)
      let layer = problem.layer
      let reference = try layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: .reference, options: .serial)
      let exact = try layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: .exact, options: options)
      XCTAssertEqual(exact.path, .exact)
      XCTAssertEqual(exact.output.shape, problem.inputs.shape)
      XCTAssertEqual(exact.logSumExp.shape, [2, 2, 90])
      let tolerance = RoundingModel.relativeTolerance(problem)
      XCTAssertLessThanOrEqual(exact.output.maxRelativeDifference(from: reference.output), tolerance, "\(features) Z")
      XCTAssertLessThanOrEqual(exact.logSumExp.maxRelativeDifference(from: reference.logSumExp), tolerance, "\(features) lse")
      let poly = try layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: .polynomial(tolerance: 1e-3), options: options)
      XCTAssertEqual(poly.path, .polynomial)
      let bound = try XCTUnwrap(poly.regime?.polynomial?.errorBound)
      // Each entry of P̃ is within the bound, so each O_i is within it of a convex combination of V.
      XCTAssertLessThanOrEqual(poly.output.maxRelativeDifference(from: reference.output), 2 * bound, "\(features) poly Z")
      // lse = log den + q̂·μ: the normaliser is known to a factor 1 ± ε, so lse to about ε absolutely.
      let lseError = zip(poly.logSumExp.scalars, reference.logSumExp.scalars).map { abs(Double($0) - Double($1)) }.max()!
      XCTAssertLessThanOrEqual(lseError, bound, "\(features) poly lse")
    }
  }

  /// backward(X, saved, dZ) is the gradient of ⟨Z, dZ⟩; the squared-loss client is the same call
  /// with dZ = Z − Y, bit for bit.
  func testBackwardWithTheCallersUpstreamGradient() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 2, length: 40, width: 8, heads: 2, loraRank: 2, seed: 32)
    guard case .upstream(let dz) = problem.objective else { return XCTFail("expected an upstream objective") }
    let layer = problem.layer
    let saved = try layer.forward(problem.inputs, keyLengths: problem.keyLengths, options: options)
    let gradients = try layer.backward(problem.inputs, saved: saved, upstream: dz, options: options)
    let viaProblem = try problem.gradients(options: options)
    XCTAssertEqual(gradients.adapters, viaProblem.adapters)
    XCTAssertEqual(gradients.input, viaProblem.input)
    XCTAssertNil(viaProblem.loss)
    // Without dX: the same adapter bits, no input gradient.
    let adaptersOnly = try layer.backward(problem.inputs, saved: saved, upstream: dz, inputGradient: false, options: options)
    XCTAssertEqual(adaptersOnly.adapters, gradients.adapters)
    XCTAssertNil(adaptersOnly.input)
    // The squared loss: dZ = Z − Y.
    let targets = try Tensor(shape: dz.shape, scalars: dz.scalars.map { $0 * 0.5 })
    let squared = try AttentionProblem(layer: layer, inputs: problem.inputs, keyLengths: problem.keyLengths, objective: .squaredError(targets: targets))
    let difference = try Tensor(shape: dz.shape, scalars: zip(saved.output.scalars, targets.scalars).map { $0 - $1 })
    let byHand = try layer.backward(problem.inputs, saved: saved, upstream: difference, options: options)
    let client = try squared.gradients(options: options)
    XCTAssertEqual(client.adapters, byHand.adapters)
    XCTAssertEqual(client.input, byHand.input)
    let loss = 0.5 * difference.scalars.reduce(0) { $0 + Double($1) * Double($1) }
    XCTAssertEqual(client.loss!, loss, accuracy: 1e-12 * loss)
  }

  /// A [L, D] input is one sequence: Z and dX come back [L, D].
  func testUnbatchedInputsKeepTheirShape() throws {
    let problem = try AttentionProblem.synthetic(length: 20, width: 8, heads: 2, loraRank: 2, seed: 33)
    let x = try problem.inputs.reshaped([20, 8])
    let saved = try problem.layer.forward(x, options: options)
    XCTAssertEqual(saved.output.shape, [20, 8])
    XCTAssertEqual(saved.logSumExp.shape, [1, 2, 20])
    let gradients = try problem.layer.backward(x, saved: saved, upstream: saved.output, options: options)
    XCTAssertEqual(gradients.input?.shape, [20, 8])
  }

  /// Bad calls are typed errors naming the tensor or setting.
  func testBadCallsNameWhatIsWrong() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 10, width: 8, heads: 2, loraRank: 2, seed: 34)
    let layer = problem.layer, x = problem.inputs
    func expect(_ body: () throws -> Any, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
      XCTAssertThrowsError(try body(), file: file, line: line) { error in
        let text = "\(error)"
        for word in mentions { XCTAssertTrue(text.contains(word), "'\(text)' does not mention \(word)", file: file, line: line) }
      }
    }
    expect({ try layer.forward(x, keyLengths: [3], options: self.options) }, mentions: ["lengths", "N = 2"])
    expect({ try layer.forward(x, keyLengths: [0, 3], options: self.options) }, mentions: ["lengths", "1…L"])
    expect({ try layer.forward(x, keyLengths: [11, 3], options: self.options) }, mentions: ["lengths", "1…L"])
    expect({ try layer.forward(Tensor(zeros: [2, 10, 7]), options: self.options) }, mentions: ["X", "[N, L, 8]"])
    let saved = try layer.forward(x, options: options)
    expect({ try layer.backward(x, saved: saved, upstream: Tensor(zeros: [2, 9, 8]), options: self.options) }, mentions: ["dZ", "like X"])
    var nan = saved.output
    nan.scalars[5] = .nan
    expect({ try layer.backward(x, saved: saved, upstream: nan, options: self.options) }, mentions: ["dZ", "index 5"])
    let weights = layer.frozenWeights
    expect({ try AttentionLayer(frozenWeights: weights, adapters: [:], heads: 2, ropeTheta: 0) }, mentions: ["rope_theta", "> 0"])
    expect({ try AttentionLayer(frozenWeights: weights, adapters: [:], heads: 8, ropeTheta: 10_000) }, mentions: ["rope_theta", "even"])
    expect({ try AttentionLayer(frozenWeights: weights, biases: [.key: Tensor(zeros: [7])], adapters: [:], heads: 2) }, mentions: ["b_k", "[8]"])
    let forced = ExecutionOptions(parallelism: .serial, instructionSet: .portable)
    XCTAssertEqual(try layer.forward(x, options: forced).path, .exact)
  }

  /// rsLoRA scales the update by α/√r instead of α/r.
  func testLoRAScaleOfRSLoRA() throws {
    let plain = try AttentionProblem.synthetic(length: 4, width: 8, loraRank: 4, alpha: 8, seed: 35).layer
    let rank = try AttentionProblem.synthetic(length: 4, width: 8, loraRank: 4, alpha: 8, useRSLoRA: true, seed: 35).layer
    XCTAssertEqual(plain.loraScale, 2)
    XCTAssertEqual(rank.loraScale, 4)
  }
}
