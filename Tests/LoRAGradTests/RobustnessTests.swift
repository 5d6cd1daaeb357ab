import Foundation
@testable import LoRAGrad
import LoRAGradIO
import XCTest

/// Bad input at the library level (issue 5 item 1) for what NumPyFormatTests and
/// ProblemDirectoryTests do not reach: every validation of `AttentionProblem.init` and of the
/// method settings as a typed error naming its culprit, float64 values beyond Float32, the
/// description of config members of the wrong JSON kind, gradient directories, and the reason
/// given when an output directory cannot be created. The same cases through the executable are in
/// RobustnessCommandLineTests.
final class RobustnessTests: XCTestCase {
  private let (n, l, d, r) = (2, 3, 4, 2)

  private func weights(_ width: Int = 4) -> [Projection: Tensor] {
    Dictionary(uniqueKeysWithValues: Projection.allCases.enumerated().map { ($1, ioTestTensor([width, width], seed: $0)) })
  }

  private func adapter(rank: Int, width: Int = 4, seed: Int = 0) -> LoRAAdapter {
    LoRAAdapter(a: ioTestTensor([rank, width], seed: seed), b: ioTestTensor([width, rank], seed: seed + 1))
  }

  private func problem(
    x: Tensor? = nil, y: Tensor? = nil, weights w: [Projection: Tensor]? = nil, adapters: [Projection: LoRAAdapter]? = nil,
    heads: Int = 1, alpha: Double? = nil, beta: Double? = nil
  ) throws -> AttentionProblem {
    try AttentionProblem(
      inputs: x ?? ioTestTensor([n, l, d], seed: 1), targets: y ?? ioTestTensor([n, l, d], seed: 2),
      frozenWeights: w ?? weights(), adapters: adapters ?? [.query: adapter(rank: r)], heads: heads, alpha: alpha, beta: beta)
  }

  private func isShape(_ name: String) -> (LoRAGradError) -> Bool {
    { if case .shapeMismatch(name, _, _) = $0 { return true } else { return false } }
  }

  private func isArgument(_ name: String) -> (LoRAGradError) -> Bool {
    { if case .invalidArgument(name, _, _) = $0 { return true } else { return false } }
  }

  // MARK: - AttentionProblem validation

  func testInputAndTargetShapesMustAgree() {
    assertIOError(try problem(y: ioTestTensor([n, l + 1, d], seed: 2)), mentions: ["Y", "[2, 3, 4]", "[2, 4, 4]"], matches: isShape("Y"))
    assertIOError(try problem(y: ioTestTensor([l, d], seed: 2)), mentions: ["[2, 3, 4]", "[3, 4]"], matches: isShape("Y"))
    assertIOError(try problem(x: ioTestTensor([1, n, l, d], seed: 1)), mentions: ["[N, L, D]"], matches: isShape("X"))
    // A 2-D x is one sequence, and then a 2-D y matches it.
    XCTAssertNoThrow(try problem(x: ioTestTensor([l, d], seed: 1), y: ioTestTensor([l, d], seed: 2)))
  }

  func testZeroLengthSequencesAndEmptyBatches() {
    for shape in [[n, 0, d], [0, l, d], [0, d], [n, l, 0]] {
      let empty = Tensor(zeros: shape)
      let w = shape.last == 0 ? weights(0) : weights()
      assertIOError(
        try problem(x: empty, y: empty, weights: w, adapters: [:]), mentions: shape.last == 0 ? ["W_q", "D ≥ 1"] : ["X", "L ≥ 1"],
        matches: isShape(shape.last == 0 ? "W_q" : "X"))
    }
  }

  func testFrozenWeightsMustBeDByDAndPresent() {
    var w = weights()
    w[.key] = ioTestTensor([d, d + 1], seed: 3)
    assertIOError(try problem(weights: w), mentions: ["W_k", "[4, 4]", "[4, 5]"], matches: isShape("W_k"))
    w[.key] = nil
    assertIOError(try problem(weights: w), mentions: ["W_k"], matches: isArgument("W_k"))
  }

  func testAdaptersMustShareTheRankAndMatchD() {
    assertIOError(
      try problem(adapters: [.query: adapter(rank: 2), .value: adapter(rank: 3)]), mentions: ["A_v", "r = 2"],
      matches: isShape("A_v"))
    assertIOError(
      try problem(adapters: [.key: LoRAAdapter(a: ioTestTensor([2, 4], seed: 0), b: ioTestTensor([4, 3], seed: 0))]),
      mentions: ["B_k", "[4, 2]"], matches: isShape("B_k"))
    assertIOError(try problem(adapters: [.query: adapter(rank: 2, width: 5)]), mentions: ["A_q", "[r, 4]"], matches: isShape("A_q"))
    assertIOError(try problem(adapters: [.query: adapter(rank: 0)]), mentions: ["A_q"], matches: isShape("A_q"))
  }

  func testHeadsMustDivideD() {
    for heads in [0, -1, 3, 8] {
      assertIOError(try problem(heads: heads), mentions: ["heads", "D = 4", "\(heads)"], matches: isArgument("heads"))
    }
    XCTAssertEqual(try problem(heads: 4).headWidth, 1)
  }

  func testAlphaAndBetaMustBeFiniteAndBetaPositive() {
    for alpha in [Double.nan, .infinity, -.infinity] {
      assertIOError(try problem(alpha: alpha), mentions: ["alpha", "finite"], matches: isArgument("alpha"))
    }
    for beta in [Double.nan, .infinity, 0, -0.5] {
      assertIOError(try problem(beta: beta), mentions: ["beta", "positive"], matches: isArgument("beta"))
    }
  }

  func testNonFiniteValuesAreNamedWithTheirIndex() {
    for (name, value) in [("NaN", Float.nan), ("+Inf", Float.infinity), ("-Inf", -Float.infinity)] {
      var x = ioTestTensor([n, l, d], seed: 1)
      x.scalars[7] = value
      XCTAssertThrowsError(try problem(x: x), name) { XCTAssertEqual($0 as? LoRAGradError, .nonFinite(name: "X", index: 7)) }
      var b = adapter(rank: r)
      b.b.scalars[3] = value
      XCTAssertThrowsError(try problem(adapters: [.value: b]), name) {
        XCTAssertEqual($0 as? LoRAGradError, .nonFinite(name: "B_v", index: 3))
      }
    }
  }

  /// The chunked scan finds the first NaN or ±Inf wherever it is (chunk edges, the last scalar,
  /// signalling NaN, two in one chunk) and passes every finite value, the largest included.
  func testFirstNonFiniteIndexFindsTheFirstAcrossChunks() throws {
    let count = 3 * 4096 + 5
    let finite = try Tensor(shape: [count], scalars: (0..<count).map { i in
      [Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude, .leastNonzeroMagnitude, 0, -0.0, 1][i % 6]
    })
    XCTAssertNil(finite.firstNonFiniteIndex)
    for (index, value) in [(0, Float.nan), (4095, .infinity), (4096, -.infinity), (8191, .signalingNaN), (count - 1, .nan)] {
      var tensor = finite
      tensor.scalars[index] = value
      XCTAssertEqual(tensor.firstNonFiniteIndex, index, "\(value) at \(index)")
      if index + 7 < count {
        tensor.scalars[index + 7] = .nan
        XCTAssertEqual(tensor.firstNonFiniteIndex, index, "the first of two")
      }
    }
    XCTAssertNil(try Tensor(shape: [0], scalars: []).firstNonFiniteIndex)
  }

  // MARK: - Method settings

  func testToleranceOutsideTheOpenUnitIntervalIsAnArgumentError() throws {
    let problem = try problem()
    for tolerance in [0, 1, -1e-3, 1.5, .nan, .infinity] {
      for method in [AttentionMethod.polynomial(tolerance: tolerance), .auto(tolerance: tolerance)] {
        XCTAssertThrowsError(try problem.gradients(method: method, options: ExecutionOptions(parallelism: .serial)), "\(method.name) \(tolerance)") {
          guard case .invalidArgument("tolerance", let expected, _)? = $0 as? LoRAGradError else { return XCTFail("\($0)") }
          XCTAssertTrue(expected.contains("(0, 1)"))
        }
      }
      XCTAssertThrowsError(try problem.regime(tolerance: tolerance), "regime \(tolerance)")
    }
  }

  func testOtherSettingsOutOfRange() throws {
    let problem = try problem()
    let cases: [(String, () throws -> Gradients)] = [
      ("threads", { try problem.gradients(method: .polynomial(tolerance: 1e-3), options: ExecutionOptions(parallelism: .dispatch(threads: -2))) }),
      ("check", { try problem.gradients(method: .polynomial(PolynomialSettings(tolerance: 1e-3, checkRows: -1)), options: .serial) }),
      ("queryBlock", { try problem.gradients(method: .exact(FlashTiling(queryBlock: 24)), options: .serial) }),
      ("keyBlock", { try problem.gradients(method: .exact(FlashTiling(keyBlock: 0)), options: .serial) }),
      ("maxKeyGroups", { try problem.gradients(method: .exact(FlashTiling(maxKeyGroups: 0)), options: .serial) }),
      ("rowBlock", { try problem.gradients(method: .polynomial(PolynomialSettings(tolerance: 1e-3, rowBlock: 8)), options: .serial) }),
      ("polynomial settings", {
        try problem.gradients(method: .auto(PolynomialSettings(tolerance: 1e-3, memoryBudget: 0)), options: .serial)
      }),
    ]
    for (argument, body) in cases {
      assertIOError(try body(), mentions: [argument], matches: isArgument(argument))
    }
  }

  // MARK: - IO details

  func testFloat64ValuesBeyondFloat32RangeAreReportedAsSuch() throws {
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }\n"
    for (values, index, shown) in [([0, 1, 1e39, 2], 2, "1e+39"), ([-1e300, 0, 0, 0], 0, "-1e+300")] as [([Double], Int, String)] {
      assertIOError(
        try NumPyArray.parse(data: npyFixture(header: header, data: float64Bytes(values)), name: "big.npy"),
        mentions: ["big.npy", "Float32 range", shown, "index \(index)"], matches: isInvalidFile)
    }
    // The largest finite Float32 itself, and NaN (which the problem check reports later), still load.
    let edge = [Double(Float.greatestFiniteMagnitude), -Double(Float.greatestFiniteMagnitude), .nan, 1e-50]
    let parsed = try NumPyArray.parse(data: npyFixture(header: header, data: float64Bytes(edge)), name: "edge.npy")
    XCTAssertEqual(parsed.scalars[0], .greatestFiniteMagnitude)
    XCTAssertEqual(parsed.scalars[1], -.greatestFiniteMagnitude)
    XCTAssertTrue(parsed.scalars[2].isNaN)
    XCTAssertEqual(parsed.scalars[3], 0)
  }

  func testConfigMembersOfTheWrongJSONKindAreDescribed() {
    for (text, kind) in [(#"{"heads": {}}"#, "a JSON object"), (#"{"alpha": [1]}"#, "a JSON array"),
                         (#"{"beta": "0.5"}"#, "the string \"0.5\""), (#"{"heads": false}"#, "false")] {
      assertIOError(
        try ProblemConfig.parse(data: Array(text.utf8), name: "config.json"), mentions: ["config.json", kind],
        matches: isInvalidFile)
    }
    XCTAssertEqual(try ProblemConfig.parse(data: Array("\u{FEFF}{\"heads\": 2}".utf8), name: "bom.json").heads, 2)
  }

  func testUncreatableOutputDirectoryGivesTheReason() throws {
    let parent = ioScratchPath(self, "robust")
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    writeIOFixture([1], to: parent + "/file")
    assertIOError(
      try emptyGradients().write(directory: parent + "/file/a/b"),
      mentions: [parent + "/file/a/b", "Not a directory"], matches: isFileSystem)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent), ["file"])
    // A trailing slash, and every missing component is created.
    let nested = parent + "/x/y/"
    try emptyGradients().write(directory: nested)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: nested).sorted(), ["grad_x.npy", "loss.npy"])
  }

  func testIncompleteGradientDirectories() throws {
    let directory = ioScratchPath(self, "robust")
    let gradients = Gradients(loss: 2, adapters: [.query: adapter(rank: 2), .value: adapter(rank: 2)], input: ioTestTensor([2], seed: 3), path: .exact)
    try gradients.write(directory: directory)
    try FileManager.default.removeItem(atPath: directory + "/grad_lora_b_v.npy")
    assertIOError(try Gradients(directory: directory), mentions: [directory + "/grad_lora_b_v.npy"], matches: isFileSystem)
    try gradients.write(directory: directory)
    // Without loss.npy (an upstream objective has none) the gradients load without a loss.
    try FileManager.default.removeItem(atPath: directory + "/loss.npy")
    XCTAssertNil(try Gradients(directory: directory).loss)
    writeIOFixture(NumPyArray.encode(ioTestTensor([2], seed: 0)), to: directory + "/loss.npy")
    assertIOError(try Gradients(directory: directory), mentions: [directory + "/loss.npy", "single value"], matches: isInvalidFile)
    assertIOError(try Gradients(directory: directory + "/absent"), mentions: [directory + "/absent"], matches: isFileSystem)
  }

  /// The reference materialises L×L matrices: beyond its maximum length it refuses by name
  /// instead of allocating gigabytes.
  func testReferenceRefusesSequencesBeyondItsMaximumLength() throws {
    let problem = try AttentionProblem.synthetic(length: ReferenceAttention.maximumLength + 1, width: 1, loraRank: 1, seed: 1)
    XCTAssertThrowsError(try problem.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))) { error in
      guard case .invalidArgument(let argument, _, let given)? = error as? LoRAGradError else { return XCTFail("\(error)") }
      XCTAssertEqual(argument, "method")
      XCTAssertTrue(given.contains("16385"), given)
    }
  }
}
