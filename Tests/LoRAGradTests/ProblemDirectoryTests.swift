import Foundation
@testable import LoRAGrad
import LoRAGradIO
import XCTest

final class ProblemDirectoryTests: XCTestCase {
  /// A small problem with N = 2, L = 3, D = 4, r = 2 and adapters on `adapted`.
  private func makeProblem(
    adapted: [Projection], heads: Int = 1, alpha: Double? = nil, beta: Double? = nil
  ) throws -> AttentionProblem {
    let (n, l, d, r) = (2, 3, 4, 2)
    var weights: [Projection: Tensor] = [:]
    var adapters: [Projection: LoRAAdapter] = [:]
    for (i, projection) in Projection.allCases.enumerated() {
      weights[projection] = ioTestTensor([d, d], seed: 10 + i)
      if adapted.contains(projection) {
        adapters[projection] = LoRAAdapter(
          a: ioTestTensor([r, d], seed: 20 + i), b: ioTestTensor([d, r], seed: 30 + i))
      }
    }
    return try AttentionProblem(
      inputs: ioTestTensor([n, l, d], seed: 1), targets: ioTestTensor([n, l, d], seed: 2), frozenWeights: weights,
      adapters: adapters, heads: heads, alpha: alpha, beta: beta)
  }

  private func assertSame(
    _ a: AttentionProblem, _ b: AttentionProblem, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.inputs, b.inputs, file: file, line: line)
    XCTAssertEqual(a.targets, b.targets, file: file, line: line)
    XCTAssertEqual(a.frozenWeights, b.frozenWeights, file: file, line: line)
    XCTAssertEqual(a.adapters, b.adapters, file: file, line: line)
    XCTAssertEqual(a.heads, b.heads, file: file, line: line)
    XCTAssertEqual(a.alpha, b.alpha, file: file, line: line)
    XCTAssertEqual(a.beta, b.beta, file: file, line: line)
  }

  /// A problem written to a fresh directory, whose path is returned.
  private func writtenProblem(adapted: [Projection] = [.query, .value], heads: Int = 1) throws -> String {
    let directory = ioScratchPath(self, "problem")
    try makeProblem(adapted: adapted, heads: heads).write(directory: directory)
    return directory
  }

  // MARK: - Round trips

  func testRoundTripWithPartialAdapters() throws {
    let problem = try makeProblem(adapted: [.query, .value])
    let directory = ioScratchPath(self, "problem")
    try problem.write(directory: directory)
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    XCTAssertEqual(
      files,
      [
        "config.json", "lora_a_q.npy", "lora_a_v.npy", "lora_b_q.npy", "lora_b_v.npy", "w_k.npy", "w_q.npy", "w_v.npy",
        "x.npy", "y.npy",
      ])
    let loaded = try AttentionProblem(directory: directory)
    assertSame(loaded, problem)
    XCTAssertEqual(loaded.adaptedProjections, [.query, .value])
  }

  func testRoundTripWithFullAdaptersHeadsAlphaBeta() throws {
    let problem = try makeProblem(adapted: Projection.allCases, heads: 2, alpha: 3.5, beta: 1.0 / 3.0)
    let directory = ioScratchPath(self, "problem")
    try problem.write(directory: directory + "/")
    assertSame(try AttentionProblem(directory: directory), problem)
  }

  func testDefaultsWithoutConfigAndTwoDimensionalInputs() throws {
    let directory = try writtenProblem()
    try FileManager.default.removeItem(atPath: directory + "/config.json")
    try AtomicWrite.write(
      [
        ("x.npy", NumPyArray.encode(ioTestTensor([3, 4], seed: 1))),
        ("y.npy", NumPyArray.encode(ioTestTensor([3, 4], seed: 2))),
      ],
      into: directory)
    let loaded = try AttentionProblem(directory: directory)
    XCTAssertEqual(loaded.inputs.shape, [3, 4], "a [L, D] input stays [L, D] (one sequence)")
    XCTAssertEqual(try loaded.gradients(options: .serial).input?.shape, [3, 4])
    XCTAssertEqual(loaded.heads, 1)
    XCTAssertEqual(loaded.alpha, 2)
    XCTAssertEqual(loaded.beta, 0.5)
  }

  func testFloat64InputsLoad() throws {
    let directory = try writtenProblem()
    let values = (0..<24).map { Double($0) / 8 }
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }\n"
    writeIOFixture(npyFixture(header: header, data: float64Bytes(values)), to: directory + "/x.npy")
    XCTAssertEqual(try AttentionProblem(directory: directory).inputs.scalars, values.map { Float($0) })
  }

  /// A whole problem directory in float64 ('<f8', as `numpy.save` writes a float64 array), with
  /// values that Float32 cannot hold exactly: it loads (rounded to Float32) and the exact path
  /// agrees with the Float64 reference on it, for partial (q, v) and full adaptation, H = 2, N = 2.
  func testFloat64ProblemDirectoryGivesTheReferenceGradients() throws {
    for adapted in [[Projection.query, .value], Projection.allCases] {
      let source = try AttentionProblem.synthetic(
        sequences: 2, length: 37, width: 16, heads: 2, loraRank: 3, adapted: Set(adapted), alpha: 5, normBound: 1, seed: 21)
      let directory = ioScratchPath(self, "float64")
      try source.write(directory: directory)
      var tensors: [(String, Tensor)] = [("x", source.inputs), ("y", source.targets)]
      for projection in Projection.allCases {
        tensors.append(("w_\(projection.rawValue)", source.frozenWeights[projection]!))
        if let adapter = source.adapters[projection] {
          tensors.append(("lora_a_\(projection.rawValue)", adapter.a))
          tensors.append(("lora_b_\(projection.rawValue)", adapter.b))
        }
      }
      for (name, tensor) in tensors {
        let shape = "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }\n"
        // Each value nudged by a third of its Float32 ulp: a float64 that rounds back to it.
        let values = tensor.scalars.map { Double($0) + Double($0.ulp) / 3 }
        writeIOFixture(npyFixture(header: header, data: float64Bytes(values)), to: "\(directory)/\(name).npy")
      }
      let loaded = try AttentionProblem(directory: directory)
      XCTAssertEqual(loaded.inputs.scalars, source.inputs.scalars)
      XCTAssertEqual(loaded.adaptedProjections, adapted)
      let reference = try loaded.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))
      let exact = try loaded.gradients(method: .exact, options: ExecutionOptions(parallelism: .dispatch(threads: 2)))
      assertClose(exact, reference, tolerance: RoundingModel.relativeTolerance(loaded), "float64 files, \(adapted)")
    }
  }

  func testRewritingWithFewerAdaptersRemovesStaleAdapterFiles() throws {
    let directory = try writtenProblem(adapted: Projection.allCases)
    try makeProblem(adapted: [.key]).write(directory: directory)
    XCTAssertEqual(try AttentionProblem(directory: directory).adaptedProjections, [.key])
  }

  func testConfigNullsMeanTheDefault() throws {
    let directory = try writtenProblem()
    writeIOFixture(Array(#"{"heads": 2, "alpha": null, "beta": 0.25, "causal": null}"#.utf8), to: directory + "/config.json")
    let loaded = try AttentionProblem(directory: directory)
    XCTAssertEqual(loaded.heads, 2)
    XCTAssertEqual(loaded.alpha, 2)
    XCTAssertEqual(loaded.beta, 0.25)
    XCTAssertFalse(loaded.layer.causal)
  }

  /// A silently ignored key (a misspelt "causal") would give wrong gradients: unknown keys are
  /// errors naming the key, and so are duplicates.
  func testConfigUnknownAndDuplicateKeysAreErrors() throws {
    let directory = try writtenProblem()
    for (text, mentioned) in [(#"{"heads": 2, "casual": true}"#, "\"casual\""), (#"{"comment": "hi"}"#, "\"comment\""),
                              (#"{"heads": 1, "heads": 2}"#, "twice")] {
      writeIOFixture(Array(text.utf8), to: directory + "/config.json")
      assertIOError(try AttentionProblem(directory: directory), mentions: [directory + "/config.json", mentioned], matches: isInvalidFile)
    }
  }

  // MARK: - The layer form (SPEC §5)

  /// Every layer-form file and key round-trips: dz.npy, b_μ.npy, causal, use_rslora, rope_theta,
  /// lengths; and `lora_alpha` is read as a synonym of `alpha`.
  func testLayerFormRoundTrip() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 2, length: 12, width: 8, heads: 2, loraRank: 2, seed: 3)
    let directory = ioScratchPath(self, "layer")
    try ProblemDirectory.write(problem, to: directory)
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    XCTAssertEqual(files.filter { $0.hasPrefix("b_") }, ["b_k.npy", "b_q.npy", "b_v.npy"])
    XCTAssertTrue(files.contains("dz.npy") && !files.contains("y.npy"), "\(files)")
    let loaded = try ProblemDirectory.load(directory)
    XCTAssertEqual(loaded.layer.biases, problem.layer.biases)
    XCTAssertTrue(loaded.layer.causal)
    XCTAssertTrue(loaded.layer.useRSLoRA)
    XCTAssertEqual(loaded.layer.ropeTheta, 10_000)
    XCTAssertEqual(loaded.keyLengths, problem.keyLengths)
    assertBitIdentical(try loaded.gradients(options: .serial), try problem.gradients(options: .serial), "reloaded")
    writeIOFixture(Array(#"{"heads": 2, "lora_alpha": 5, "r": 2}"#.utf8), to: directory + "/config.json")
    let synonym = try ProblemDirectory.load(directory)
    XCTAssertEqual(synonym.layer.alpha, 5)
    writeIOFixture(Array(#"{"heads": 2, "lora_alpha": 5, "alpha": 4}"#.utf8), to: directory + "/config.json")
    assertIOError(try ProblemDirectory.load(directory), mentions: ["lora_alpha", "disagree"], matches: isInvalidFile)
    writeIOFixture(Array(#"{"heads": 2, "r": 3}"#.utf8), to: directory + "/config.json")
    assertIOError(try ProblemDirectory.load(directory), mentions: [directory + "/config.json", "\"r\""], matches: isInvalidFile)
  }

  /// Bad layer-form values name the file or key: a length of 0 or > L, the wrong number of
  /// lengths, θ ≤ 0, a bias of the wrong size, dz of the wrong shape, both y.npy and dz.npy, and a
  /// stray file that looks like an input.
  func testLayerFormErrorsNameTheFileOrKey() throws {
    let problem = try AttentionProblem.synthetic(LayerFeatures(biases: true, upstream: true), sequences: 2, length: 6, width: 4, seed: 4)
    let directory = ioScratchPath(self, "layer")
    try ProblemDirectory.write(problem, to: directory)
    let config = directory + "/config.json"
    for (text, mentioned) in [(#"{"lengths": [0, 3]}"#, "1…L"), (#"{"lengths": [7, 3]}"#, "1…L"), (#"{"lengths": [3]}"#, "one key length per sequence"),
                              (#"{"rope_theta": -1}"#, "rope_theta"), (#"{"causal": 1}"#, "true or false"), (#"{"lengths": [1.5, 2]}"#, "integers")] {
      writeIOFixture(Array(text.utf8), to: config)
      assertIOError(try ProblemDirectory.load(directory), mentions: [config, mentioned], matches: isInvalidFile)
    }
    try FileManager.default.removeItem(atPath: config)
    writeIOFixture(NumPyArray.encode(ioTestTensor([5], seed: 1)), to: directory + "/b_k.npy")
    assertIOError(try ProblemDirectory.load(directory), mentions: [directory + "/b_k.npy", "[4]"], matches: { if case .shapeMismatch = $0 { return true }; return false })
    try ProblemDirectory.write(problem, to: directory)
    writeIOFixture(NumPyArray.encode(ioTestTensor([2, 5, 4], seed: 1)), to: directory + "/dz.npy")
    assertIOError(try ProblemDirectory.load(directory), mentions: [directory + "/dz.npy", "like X"], matches: { if case .shapeMismatch = $0 { return true }; return false })
    try ProblemDirectory.write(problem, to: directory)
    writeIOFixture(NumPyArray.encode(ioTestTensor([2, 6, 4], seed: 1)), to: directory + "/y.npy")
    assertIOError(try ProblemDirectory.load(directory), mentions: [directory + "/dz.npy", "ambiguous"], matches: isFileSystem)
    try FileManager.default.removeItem(atPath: directory + "/y.npy")
    for stray in ["b_x.npy", "lora_a_o.npy", "w_out.npy"] {
      writeIOFixture(NumPyArray.encode(ioTestTensor([4], seed: 1)), to: directory + "/" + stray)
      assertIOError(try ProblemDirectory.load(directory), mentions: [directory + "/" + stray, "not a known input"], matches: isFileSystem)
      try FileManager.default.removeItem(atPath: directory + "/" + stray)
    }
    XCTAssertNoThrow(try ProblemDirectory.load(directory))
  }

  // MARK: - Errors

  func testAdapterAWithoutBNamesTheMissingFile() throws {
    let directory = try writtenProblem()
    try FileManager.default.removeItem(atPath: directory + "/lora_b_v.npy")
    assertIOError(
      try AttentionProblem(directory: directory), mentions: [directory + "/lora_b_v.npy", "lora_a_v.npy"],
      matches: isFileSystem)
  }

  func testAdapterBWithoutANamesTheMissingFile() throws {
    let directory = try writtenProblem()
    try FileManager.default.removeItem(atPath: directory + "/lora_a_q.npy")
    assertIOError(
      try AttentionProblem(directory: directory), mentions: [directory + "/lora_a_q.npy"], matches: isFileSystem)
  }

  func testMissingRequiredFile() throws {
    let directory = try writtenProblem()
    try FileManager.default.removeItem(atPath: directory + "/w_k.npy")
    assertIOError(try AttentionProblem(directory: directory), mentions: [directory + "/w_k.npy"], matches: isFileSystem)
  }

  func testMissingDirectoryOrRegularFile() throws {
    let path = ioScratchPath(self, "problem")
    assertIOError(try AttentionProblem(directory: path), mentions: [path], matches: isFileSystem)
    writeIOFixture([1], to: path)
    assertIOError(try AttentionProblem(directory: path), mentions: [path, "not a directory"], matches: isFileSystem)
  }

  func testMalformedConfig() throws {
    let directory = try writtenProblem()
    let config = directory + "/config.json"
    for (text, mention) in [
      (#"{"heads": 2"#, "JSON"), (#"[2]"#, "JSON object"), (#"{"heads": "2"}"#, "heads"), (#"{"heads": 0}"#, "heads"),
      (#"{"heads": 1.5}"#, "heads"), (#"{"heads": true}"#, "heads"), (#"{"alpha": "x"}"#, "alpha"),
      (#"{"beta": false}"#, "beta"), (#"{"heads": 1e300}"#, "heads"), ("", "JSON"),
    ] {
      writeIOFixture(Array(text.utf8), to: config)
      assertIOError(try AttentionProblem(directory: directory), mentions: [config, mention], matches: isInvalidFile)
    }
  }

  func testNonPositiveBetaNamesTheConfig() throws {
    let directory = try writtenProblem()
    writeIOFixture(Array(#"{"beta": -1}"#.utf8), to: directory + "/config.json")
    assertIOError(
      try AttentionProblem(directory: directory), mentions: [directory + "/config.json", "beta"], matches: isInvalidFile
    )
  }

  func testHeadsNotDividingWidth() throws {
    let directory = try writtenProblem()
    writeIOFixture(Array(#"{"heads": 3}"#.utf8), to: directory + "/config.json")
    assertIOError(
      try AttentionProblem(directory: directory), mentions: [directory + "/config.json", "heads", "D = 4"],
      matches: isInvalidFile)
  }

  func testNaNInAnInputNamesTheFile() throws {
    let directory = try writtenProblem()
    var y = ioTestTensor([2, 3, 4], seed: 2)
    y.scalars[5] = .nan
    try AtomicWrite.write([("y.npy", NumPyArray.encode(y))], into: directory)
    let error = assertIOError(try AttentionProblem(directory: directory), mentions: [directory + "/y.npy"]) {
      if case .nonFinite = $0 { return true }
      return false
    }
    XCTAssertEqual(error, .nonFinite(name: directory + "/y.npy", index: 5))
  }

  func testShapeErrorsNameTheFile() throws {
    let directory = try writtenProblem()
    func isShape(_ error: LoRAGradError) -> Bool {
      if case .shapeMismatch = error { return true }
      return false
    }
    try AtomicWrite.write([("lora_a_q.npy", NumPyArray.encode(ioTestTensor([2, 5], seed: 0)))], into: directory)
    assertIOError(try AttentionProblem(directory: directory), mentions: [directory + "/lora_a_q.npy"], matches: isShape)
    try makeProblem(adapted: [.query, .value]).write(directory: directory)
    try AtomicWrite.write([("w_k.npy", NumPyArray.encode(ioTestTensor([4, 3], seed: 0)))], into: directory)
    assertIOError(
      try AttentionProblem(directory: directory), mentions: [directory + "/w_k.npy", "[4, 4]"], matches: isShape)
    try makeProblem(adapted: [.query, .value]).write(directory: directory)
    try AtomicWrite.write([("x.npy", NumPyArray.encode(ioTestTensor([24], seed: 0)))], into: directory)
    assertIOError(try AttentionProblem(directory: directory), mentions: [directory + "/x.npy"], matches: isShape)
  }

  func testCorruptNpyInTheDirectoryNamesTheFile() throws {
    let directory = try writtenProblem()
    writeIOFixture(Array("garbage".utf8), to: directory + "/w_v.npy")
    assertIOError(
      try AttentionProblem(directory: directory), mentions: [directory + "/w_v.npy", "magic"], matches: isInvalidFile)
  }

  // MARK: - Gradient files

  func testGradientFilesRoundTrip() throws {
    let directory = ioScratchPath(self, "grads")
    let all = Gradients(
      loss: 0.1 + 1e-14,
      adapters: Dictionary(
        uniqueKeysWithValues: Projection.allCases.enumerated().map { i, p in
          (p, LoRAAdapter(a: ioTestTensor([2, 4], seed: i), b: ioTestTensor([4, 2], seed: i + 5)))
        }), input: ioTestTensor([3, 4], seed: 9), path: .exact)
    try all.write(directory: directory)
    let some = Gradients(loss: 2.5, adapters: [.value: all.adapters[.value]!], input: all.input, path: .exact)
    try some.write(directory: directory)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
      ["grad_lora_a_v.npy", "grad_lora_b_v.npy", "grad_x.npy", "loss.npy"])
    let loaded = try Gradients(directory: directory)
    XCTAssertEqual(loaded.loss, 2.5)
    XCTAssertEqual(loaded.adapters, some.adapters)
    XCTAssertEqual(loaded.input, some.input)
    try all.write(directory: directory)
    let reloaded = try Gradients(directory: directory)
    XCTAssertEqual(reloaded.loss, all.loss)
    XCTAssertEqual(reloaded.adapters, all.adapters)
    XCTAssertEqual(try NumPyArray.read(path: directory + "/loss.npy").shape, [])
  }

  func testGradientWriteIntoAFileFails() throws {
    let path = ioScratchPath(self, "grads")
    writeIOFixture([1], to: path)
    assertIOError(try emptyGradients().write(directory: path), mentions: [path], matches: isFileSystem)
  }
}
