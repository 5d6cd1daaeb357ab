import CLoRAGradKernels
@testable import LoRAGrad
import LoRAGradOpenMP
import XCTest

/// The exact path with bf16 products (SPEC §2.1, `ExactPrecision.bfloat16`) against the Float64
/// reference within the bf16 rounding model (`RoundingModel.relativeTolerance(_:precision:)`):
/// every layer feature alone and together, odd shapes, odd rows in the last query block; the
/// native vdpbf16ps kernels and the Float32 fallback give the same bits; the bits do not depend on
/// the thread count or the backend.
final class BFloat16Tests: XCTestCase {
  @discardableResult
  private func check(
    _ problem: AttentionProblem, tiling: FlashTiling = .bfloat16, isa: KernelInstructionSet = .detected, _ label: String,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> Gradients {
    let reference = try problem.gradients(method: .reference, options: .serial)
    let options = ExecutionOptions(parallelism: .dispatch(threads: 2), instructionSet: isa)
    let result = try problem.gradients(method: .exact(tiling), options: options)
    XCTAssertEqual(result.precision, .bfloat16, label, file: file, line: line)
    let ratio = assertWithinRoundingModel(result, reference, problem: problem, precision: .bfloat16, label, file: file, line: line)
    print("bf16 \(label) [\(isa.rawValue)]: A = \(String(format: "%.2f", RoundingModel.largestLogitScale(problem))), max relative error \(String(format: "%.2e", result.maxRelativeDifference(from: reference))), observed / rounding model = \(String(format: "%.2f", ratio))")
    return result
  }

  func testEveryFeatureAloneAndTogetherOnOddShapes() throws {
    for features in LayerFeatures.each {
      try check(try .synthetic(features, sequences: 2, length: 67, width: 32, heads: 2, loraRank: 4, alpha: 3, seed: 1), "\(features) L=67 H=2 N=2")
      try check(try .synthetic(features, length: 130, width: 24, heads: 2, loraRank: 3, adapted: [.query, .value], seed: 2), "\(features) L=130 h=12 q+v")
    }
  }

  func testLargerLogitsAndShortSequences() throws {
    for scale in [2.0, 4.0] {
      try check(try .synthetic(.all, sequences: 2, length: 120, width: 32, heads: 2, loraRank: 4, normBound: scale, seed: 3), "all features, R ≈ \(scale)")
    }
    try check(try .synthetic(length: 1, width: 16, heads: 2, loraRank: 1, seed: 6), "L=1")
    try check(try .synthetic(.all, sequences: 4, length: 2, width: 16, heads: 4, loraRank: 1, seed: 7), "L=2 all features")
  }

  /// Small and unequal blocks: the last query block has an odd number of rows, so the row pairs
  /// of P, dS, q̂ and dO end in a zero row.
  func testSmallTilesWithOddLastBlocks() throws {
    let tiling = FlashTiling(queryBlock: 16, keyBlock: 32, maxKeyGroups: 3, precision: .bfloat16)
    try check(try .synthetic(.all, sequences: 3, length: 151, width: 16, heads: 2, loraRank: 2, seed: 5), tiling: tiling, "small tiles, L=151")
    let wide = FlashTiling(queryBlock: 48, keyBlock: 16, maxKeyGroups: 5, backwardPanelBytes: 1, precision: .bfloat16)
    try check(try .synthetic(.none, sequences: 2, length: 101, width: 16, heads: 1, loraRank: 2, seed: 6), tiling: wide, "wide query blocks, panels of one block")
  }

  /// The bf16 tiles' exp is within the ε_exp their rounding model takes (checked on every Float32
  /// in [−64, 64] by `loragrad-bench exp`; here a fixed sample of 10⁶ over the clamped domain,
  /// every instruction set), and it is its own function, not the full exp (which is 20 times
  /// tighter). Which exp a tile calls is not reachable from here: attention_tile_bf16.c says.
  func testTileExpWithinItsRoundingModelTerm() throws {
    var random = SplitMix64(seed: 17)
    let x = (0..<1_000_000).map { _ in Float(Double.random(in: -87...88, using: &random)) }
    for isa in KernelInstructionSet.available {
      var y = [Float](repeating: 0, count: x.count), full = y
      lgk_exp_bf16(try isa.operations(), Int64(x.count), x, &y)
      lgk_exp(try isa.operations(), Int64(x.count), x, &full)
      let error = { (values: [Float]) in zip(x, values).map { abs(Double($1) - exp(Double($0))) / exp(Double($0)) }.max()! }
      let worst = error(y)
      XCTAssertLessThanOrEqual(worst, RoundingModel.bfloat16TileExpError, "\(isa)")
      XCTAssertGreaterThan(worst, 20 * error(full), "\(isa): the tiles' exp is its own")
    }
  }

  /// Every instruction set of this CPU against the reference; the native kernels (avx512f+bf16)
  /// against the Float32 fallback on the same Float32 kernels (avx512f): the same bits, because a
  /// bf16 product is exact in Float32 and the fallback adds the products in vdpbf16ps's order.
  func testNativeAndFallbackAgreeBitForBit() throws {
    for features in [LayerFeatures.none, .all] {
      let problem = try AttentionProblem.synthetic(features, sequences: 2, length: 93, width: 48, heads: 3, loraRank: 4, seed: 8)
      var results: [KernelInstructionSet: Gradients] = [:]
      for isa in KernelInstructionSet.available { results[isa] = try check(problem, isa: isa, "\(features) every ISA") }
      if let native = results[.avx512bf16], let fallback = results[.avx512] {
        assertBitIdentical(native, fallback, "\(features): vdpbf16ps against the Float32 fallback")
      } else {
        print("bf16: this CPU has no avx512f+bf16; the native kernels are not run here (the fallback is, on every instruction set)")
      }
    }
  }

  func testSameBitsOnEveryThreadCountAndBackend() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 3, length: 150, width: 32, heads: 2, loraRank: 4, seed: 10)
    for isa in Set([KernelInstructionSet.detected, .portable]) {
      var results: [Gradients] = []
      for parallelism in [Parallelism.serial, .dispatch(threads: 3), .openmp(threads: 2), .openmp(threads: 5)] {
        results.append(try problem.gradients(method: .exact(.bfloat16), options: ExecutionOptions(parallelism: parallelism, instructionSet: isa)))
      }
      for other in results.dropFirst() { assertBitIdentical(results[0], other, "bf16 [\(isa.rawValue)]") }
    }
  }

  /// bf16 is really used: its result differs from Float32 by about u_b, far above Float32's own
  /// rounding, and the forward pass and the results say which precision ran.
  func testPrecisionIsUsedAndReported() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 2, length: 80, width: 32, heads: 2, loraRank: 4, seed: 11)
    let options = ExecutionOptions(parallelism: .dispatch(threads: 2))
    let float32 = try problem.gradients(method: .exact, options: options)
    let bf16 = try problem.gradients(method: .exact(.bfloat16), options: options)
    XCTAssertEqual(float32.precision, .float32)
    XCTAssertEqual(bf16.precision, .bfloat16)
    XCTAssertGreaterThan(bf16.maxRelativeDifference(from: float32), 16 * RoundingModel.relativeTolerance(problem))
    let forward = try problem.layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: .exact(.bfloat16), options: options)
    XCTAssertEqual(forward.precision, .bfloat16)
    let small = try AttentionProblem.synthetic(length: 64, width: 16, loraRank: 2, normBound: 0.5, seed: 12)
    let polynomial = try small.layer.forward(small.inputs, method: .polynomial(tolerance: 1e-3), options: options)
    XCTAssertEqual(polynomial.precision, .float32)
    XCTAssertEqual(ExactPrecision(name: "bf16"), .bfloat16)
    XCTAssertEqual(ExactPrecision(name: "bfloat16"), .bfloat16)
    XCTAssertNil(ExactPrecision(name: "fp16"))
  }
}
