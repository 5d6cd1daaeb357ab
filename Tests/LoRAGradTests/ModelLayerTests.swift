import Foundation
@testable import LoRAGrad
@testable import LoRAGradIO
import XCTest

/// A layer read from a Hugging Face model file and a PEFT adapter directory (made here, in both
/// spellings) gives the same bits as the same layer built directly; every unsupported or
/// inconsistent file is an error naming the file and key.
final class ModelLayerTests: XCTestCase {
  /// The spelling, module path and model keys of one fixture.
  struct Layout {
    var spelling: [Projection: String]
    var modelPrefix: String
    var modulePath: String
    var config: String
    var adapterConfig: String
  }

  static let bert = Layout(
    spelling: ModelLayer.spellings[0], modelPrefix: "bert.", modulePath: "encoder.layer.1.attention.self",
    config: #"{"model_type": "bert", "num_attention_heads": 2, "hidden_size": 16, "position_embedding_type": "absolute"}"#,
    adapterConfig: #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["query", "key", "value"], "bias": "none", "fan_in_fan_out": false}"#)
  static let llama = Layout(
    spelling: ModelLayer.spellings[1], modelPrefix: "model.", modulePath: "layers.0.self_attn",
    config: #"{"model_type": "llama", "num_attention_heads": 2, "num_key_value_heads": 2, "hidden_size": 16, "rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"}}"#,
    adapterConfig: #"{"peft_type": "LORA", "r": 4, "lora_alpha": 16, "use_rslora": true, "target_modules": "model\\..*\\.(q_proj|v_proj)", "bias": "none"}"#)

  /// Writes model/, adapter/, x.npy and y.npy for `problem` under `directory` in `layout`; extra
  /// tensors (another layer, embeddings in F16) sit beside the layer's.
  func writeFixture(_ problem: AttentionProblem, _ layout: Layout, in directory: String, fanInFanOut: Bool = false) throws {
    let layer = problem.layer
    var model: [(name: String, tensor: Tensor)] = [("\(layout.modelPrefix)embeddings.weight", ioTestTensor([5, 16], seed: 9))]
    var adapter: [(name: String, tensor: Tensor)] = []
    for projection in Projection.allCases {
      let key = "\(layout.modelPrefix)\(layout.modulePath).\(layout.spelling[projection]!)"
      var w = layer.frozenWeights[projection]!
      if fanInFanOut { w = Tensor(checkedShape: [16, 16], scalars: (0..<256).map { w.scalars[($0 % 16) * 16 + $0 / 16] }) }
      model.append((key + ".weight", w))
      if let b = layer.biases[projection] { model.append((key + ".bias", b)) }
      model.append((key.replacingOccurrences(of: ".1.", with: ".7.").replacingOccurrences(of: ".0.", with: ".7.") + ".weight", ioTestTensor([16, 16], seed: 3)))
      if let a = layer.adapters[projection] {
        adapter.append(("base_model.model.\(key).lora_A.weight", a.a))
        adapter.append(("base_model.model.\(key).lora_B.weight", a.b))
      }
    }
    try AtomicWrite.write(
      [("model.safetensors", SafeTensorsFile.encode(model, metadata: ["format": "pt"])), ("config.json", Array(layout.config.utf8))],
      into: directory + "/model")
    var config = layout.adapterConfig
    if fanInFanOut { config = config.replacingOccurrences(of: "\"fan_in_fan_out\": false", with: "\"fan_in_fan_out\": true") }
    try AtomicWrite.write(
      [("adapter_model.safetensors", SafeTensorsFile.encode(adapter, metadata: ["format": "pt"])), ("adapter_config.json", Array(config.utf8))],
      into: directory + "/adapter")
    guard case .squaredError(let y) = problem.objective else { return XCTFail("fixture needs targets") }
    try AtomicWrite.write([("x.npy", NumPyArray.encode(problem.inputs)), ("y.npy", NumPyArray.encode(y))], into: directory)
  }

  func load(_ directory: String, _ layout: Layout, overrides: ModelLayer.Overrides = .init()) throws -> ModelLayer {
    try ModelLayer.load(
      model: directory + "/model/model.safetensors", modelConfig: nil, adapter: directory + "/adapter", layer: layout.modulePath,
      overrides: overrides)
  }

  func testBERTSpellingWithBiasesAndPrefixGivesTheSameBits() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 19, width: 16, heads: 2, loraRank: 4, alpha: 8, biases: true, seed: 4)
    let directory = ioScratchPath(self, "peft")
    try writeFixture(problem, Self.bert, in: directory)
    let model = try load(directory, Self.bert)
    XCTAssertEqual(model.modulePath, "bert.encoder.layer.1.attention.self")
    XCTAssertEqual(model.adapterKey(.adapterA(.key)), "base_model.model.bert.encoder.layer.1.attention.self.key.lora_A.weight")
    let loaded = try model.problem(inputs: directory + "/x.npy", targets: directory + "/y.npy", upstream: nil, keyLengths: nil)
    XCTAssertFalse(loaded.layer.causal)
    XCTAssertNil(loaded.layer.ropeTheta)
    let expected = try AttentionProblem(
      layer: AttentionLayer(
        frozenWeights: problem.layer.frozenWeights, biases: problem.layer.biases, adapters: problem.layer.adapters, heads: 2, alpha: 8),
      inputs: problem.inputs, objective: problem.objective)
    let options = ExecutionOptions(parallelism: .dispatch(threads: 2))
    assertBitIdentical(try loaded.gradients(options: options), try expected.gradients(options: options))
    // The PEFT directory written back holds every original tensor, this layer's replaced.
    var trained = model.layer.adapters
    trained[.query]!.a.scalars[0] += 1
    let files = try model.peftFiles(trained)
    let written = try SafeTensorsFile.parse(data: files[0].bytes, name: "out")
    XCTAssertEqual(written.names.sorted(), model.adapterFile.names.sorted())
    XCTAssertEqual(try written.tensor(model.adapterKeys[.query]!.a).scalars, trained[.query]!.a.scalars)
    XCTAssertEqual(files[1].bytes, model.adapterConfig.bytes)
  }

  func testLlamaSpellingCausalRoPERegexTargetsAndRSLoRA() throws {
    let problem = try AttentionProblem.synthetic(
      sequences: 1, length: 23, width: 16, heads: 2, loraRank: 4, adapted: [.query, .value], alpha: 16, useRSLoRA: true, seed: 5)
    let directory = ioScratchPath(self, "peft")
    try writeFixture(problem, Self.llama, in: directory)
    let loaded = try load(directory, Self.llama).problem(inputs: directory + "/x.npy", targets: directory + "/y.npy", upstream: nil, keyLengths: [20])
    XCTAssertTrue(loaded.layer.causal)
    XCTAssertEqual(loaded.layer.ropeTheta, 500_000)
    XCTAssertTrue(loaded.layer.useRSLoRA)
    XCTAssertEqual(Set(loaded.layer.adapters.keys), [.query, .value])
    let expected = try AttentionProblem(
      layer: AttentionLayer(
        frozenWeights: problem.layer.frozenWeights, adapters: problem.layer.adapters, heads: 2, alpha: 16, useRSLoRA: true, causal: true,
        ropeTheta: 500_000),
      inputs: problem.inputs, keyLengths: [20], objective: problem.objective)
    let options = ExecutionOptions(parallelism: .serial)
    assertBitIdentical(try loaded.gradients(options: options), try expected.gradients(options: options))
    // Flags override the config.
    let plain = try load(directory, Self.llama, overrides: .init(heads: 1, causal: false, ropeTheta: .some(nil), beta: 0.5)).layer
    XCTAssertEqual([plain.heads, plain.causal ? 1 : 0], [1, 0])
    XCTAssertNil(plain.ropeTheta)
    XCTAssertEqual(plain.beta, 0.5)
  }

  func testFanInFanOutWeightsAreTransposed() throws {
    let problem = try AttentionProblem.synthetic(length: 9, width: 16, heads: 2, loraRank: 4, alpha: 8, seed: 6)
    let (plainDirectory, transposedDirectory) = (ioScratchPath(self, "peft"), ioScratchPath(self, "peft"))
    try writeFixture(problem, Self.bert, in: plainDirectory)
    try writeFixture(problem, Self.bert, in: transposedDirectory, fanInFanOut: true)
    XCTAssertEqual(
      try load(plainDirectory, Self.bert).layer.frozenWeights[.key]!.scalars, try load(transposedDirectory, Self.bert).layer.frozenWeights[.key]!.scalars)
  }

  func testUnsupportedOrInconsistentFilesAreNamedErrors() throws {
    let problem = try AttentionProblem.synthetic(length: 9, width: 16, heads: 2, loraRank: 4, alpha: 8, seed: 7)
    let directory = ioScratchPath(self, "peft")
    try writeFixture(problem, Self.bert, in: directory)
    let adapterConfig = directory + "/adapter/adapter_config.json", modelConfig = directory + "/model/config.json"
    func with(_ path: String, _ text: String, mentions: [String], _ body: () throws -> Void = {}) throws {
      let original = try Data(contentsOf: URL(fileURLWithPath: path))
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      assertIOError(try load(directory, Self.bert), mentions: mentions, matches: { _ in true })
      try original.write(to: URL(fileURLWithPath: path))
    }
    try with(adapterConfig, #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["query", "key", "value"], "bias": "all"}"#,
      mentions: ["adapter_config.json", "bias", "none"])
    try with(adapterConfig, #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["query", "key", "value"], "use_dora": true}"#,
      mentions: ["adapter_config.json", "use_dora"])
    try with(adapterConfig, #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["query", "key", "value"], "rank_pattern": {"value": 2}}"#,
      mentions: ["adapter_config.json", "r = 2", "value.lora_A.weight"])
    try with(adapterConfig, #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["query", "key", "value"], "alpha_pattern": {"key": 32}}"#,
      mentions: ["adapter_config.json", "one rank and one α"])
    try with(adapterConfig, #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["query", "key"]}"#,
      mentions: ["adapter_config.json", "target_modules", "value"])
    try with(adapterConfig, #"{"peft_type": "PREFIX_TUNING"}"#, mentions: ["adapter_config.json", "LORA"])
    try with(modelConfig, #"{"model_type": "llama", "num_attention_heads": 2, "num_key_value_heads": 1}"#, mentions: ["config.json", "grouped-query"])
    try with(modelConfig, #"{"model_type": "bert", "num_attention_heads": 2, "position_embedding_type": "relative_key"}"#, mentions: ["config.json", "relative"])
    try with(modelConfig, #"{"model_type": "llama", "num_attention_heads": 2, "rope_scaling": {"rope_type": "yarn", "factor": 4}}"#,
      mentions: ["config.json", "scaled RoPE"])
    try with(modelConfig, #"{"model_type": "mystery", "num_attention_heads": 2}"#, mentions: ["config.json", "--causal"])
    try with(modelConfig, #"{"model_type": "bert"}"#, mentions: ["config.json", "num_attention_heads", "--heads"])
    // A module path the model does not have: the message suggests one it has.
    assertIOError(
      try ModelLayer.load(model: directory + "/model/model.safetensors", modelConfig: nil, adapter: directory + "/adapter", layer: "encoder.layer.3.attention.self"),
      mentions: ["model.safetensors", "encoder.layer.3.attention.self.query.weight", "--layer might be"], matches: isInvalidFile)
    // Inputs of the wrong width name the file given.
    try AtomicWrite.write([("x.npy", NumPyArray.encode(ioTestTensor([9, 8], seed: 1)))], into: directory + "/bad")
    assertIOError(
      try load(directory, Self.bert).problem(inputs: directory + "/bad/x.npy", targets: directory + "/y.npy", upstream: nil, keyLengths: nil),
      mentions: ["bad/x.npy"], matches: { _ in true })
  }

  /// The command line on a model layer: grad in both formats, forward, regime, and the errors of
  /// the model flags.
  func testCommandLineOnAModelLayer() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 17, width: 16, heads: 2, loraRank: 4, alpha: 8, biases: true, seed: 9)
    let directory = ioScratchPath(self, "peft")
    try writeFixture(problem, Self.bert, in: directory)
    let model = ["--model", directory + "/model/model.safetensors", "--adapter", directory + "/adapter", "--layer", Self.bert.modulePath,
                 "--input", directory + "/x.npy", "--threads", "2"]
    let npy = try runLoRAGrad(["grad"] + model + ["--targets", directory + "/y.npy", "--out", directory + "/npy"])
    XCTAssertEqual(npy.status, 0, npy.standardError)
    let peft = try runLoRAGrad(["grad"] + model + ["--targets", directory + "/y.npy", "--out", directory + "/peft", "--format", "peft"])
    XCTAssertEqual(peft.status, 0, peft.standardError)
    let file = try SafeTensorsFile.open(directory + "/peft/" + GradientFiles.peftName)
    let loaded = try load(directory, Self.bert)
    XCTAssertEqual(Set(file.names), Set(loaded.adapterKeys.values.flatMap { [$0.a, $0.b] }))
    let expected = try loaded.problem(inputs: directory + "/x.npy", targets: directory + "/y.npy", upstream: nil, keyLengths: nil)
      .gradients(options: ExecutionOptions(parallelism: .dispatch(threads: 2)))
    for (projection, keys) in loaded.adapterKeys {
      XCTAssertEqual(try file.tensor(keys.a).scalars.map(\.bitPattern), expected.adapters[projection]!.a.scalars.map(\.bitPattern))
      XCTAssertEqual(
        try NumPyArray.read(path: directory + "/npy/grad_lora_b_\(projection.rawValue).npy").scalars, try file.tensor(keys.b).scalars)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/peft/grad_lora_a_q.npy"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/peft/grad_x.npy"))
    let forward = try runLoRAGrad(["forward"] + model + ["--out", directory + "/z"])
    XCTAssertEqual(forward.status, 0, forward.standardError)
    XCTAssertEqual(try NumPyArray.read(path: directory + "/z/z.npy").shape, [2, 17, 16])
    let regime = try runLoRAGrad(["regime"] + model + ["--lengths", "17,9"])
    XCTAssertEqual(regime.status, 0, regime.standardError)
    guard case .object(let report) = try JSONValue.parse(Array(regime.standardOutput.utf8)), case .array(let heads)? = report["bound_per_head"] else {
      return XCTFail("regime JSON without bound_per_head: \(regime.standardOutput)")
    }
    XCTAssertEqual(heads.count, 2)
    XCTAssertEqual(heads.compactMap(\.number).max(), report["bound"]?.number)
    for (extra, mention) in [
      (["--causal", "maybe"], "--causal"), (["--rope-theta", "0.5"], "--rope-theta"), (["--lengths", "17,x"], "--lengths"), (["--targets", "y.npy"], "--targets"),
    ] {
      let outcome = try runLoRAGrad(["regime"] + model + extra)
      XCTAssertEqual(outcome.status, 2, "\(extra)")
      XCTAssertTrue(outcome.standardError.contains(mention), "\(extra): \(outcome.standardError)")
    }
    let missing = try runLoRAGrad(["grad", "--model", directory + "/model/model.safetensors", "--out", directory + "/o"])
    XCTAssertEqual(missing.status, 2)
    XCTAssertTrue(missing.standardError.contains("--adapter"), missing.standardError)
  }
}
