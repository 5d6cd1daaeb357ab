import Foundation
import LoRAGrad
import LoRAGradIO

/// Where a command's problem comes from: a problem directory (the positional argument), or one
/// attention layer of a Hugging Face model with a PEFT adapter (`--model … --adapter … --layer …`
/// with `--input x.npy` and `--targets y.npy` or `--upstream dz.npy`).
public struct ProblemSource {
  /// The problem directory, when the problem comes from one.
  public let directory: String?
  /// The model's paths and settings, when the problem comes from a model.
  private let model: ModelArguments?

  /// The help lines of these options.
  public static let help = """
    problem: a <problem-dir>, or a layer of a Hugging Face model with a PEFT adapter:
      --model FILE         model.safetensors (F32, F16, BF16 or F64 weights)
      --model-config FILE  the model's config.json (default: config.json beside --model)
      --adapter DIR        PEFT adapter directory (adapter_model.safetensors, adapter_config.json)
      --layer PATH         module path of the attention block, e.g. encoder.layer.0.attention.self
                           or model.layers.0.self_attn (q/k/v as query/key/value or q_proj/k_proj/v_proj)
      --input FILE         x.npy, [N, L, D] or [L, D]
      --targets FILE       y.npy (squared loss), or --upstream FILE: dz.npy (upstream gradient)
      --lengths l₁,…,l_N   valid keys per sequence (default: all L)
      --heads H            override config.json's num_attention_heads
      --causal true|false  override the model type's causality
      --rope-theta θ|none  override the model's RoPE base (none: no RoPE)
      --beta β             softmax temperature (default 1/√h)
    """

  /// Parses the model options (when `--model` is given) or the problem directory (otherwise);
  /// call it after every other option was taken.
  public init(_ arguments: inout Arguments, needsObjective: Bool) throws {
    let modelOnly = ["--model-config", "--adapter", "--layer", "--input", "--targets", "--upstream", "--lengths", "--heads", "--causal", "--rope-theta", "--beta"]
    if let modelPath = try arguments.option("--model") {
      model = try ModelArguments(&arguments, model: modelPath, needsObjective: needsObjective)
      directory = nil
    } else {
      var given: String?
      for name in modelOnly where given == nil {
        if try arguments.option(name) != nil { given = name }
      }
      if let given {
        throw LoRAGradError.invalidArgument(argument: given, expected: "\(given) only with --model (a problem directory has its own files)", given: "no --model")
      }
      model = nil
      directory = try arguments.positional("problem directory")
    }
  }

  /// What the JSON summary says the problem is.
  public var description: String {
    if let model { return "\(model.model) \(model.layer)" }
    return directory ?? ""
  }

  /// The layer and X, and the model layer they come from (nil for a problem directory).
  public func loadInputs() throws -> (inputs: ProblemDirectory.LayerInputs, model: ModelLayer?) {
    guard let model else { return (try ProblemDirectory.loadInputs(directory!), nil) }
    let layer = try model.load()
    return (try layer.inputs(model.input, keyLengths: model.lengths), layer)
  }

  /// The problem with its objective, and the model layer it comes from (nil for a problem directory).
  public func load() throws -> (problem: AttentionProblem, model: ModelLayer?) {
    guard let model else { return (try ProblemDirectory.load(directory!), nil) }
    let layer = try model.load()
    return (try layer.problem(inputs: model.input, targets: model.targets, upstream: model.upstream, keyLengths: model.lengths), layer)
  }
}

/// The options of a model layer.
private struct ModelArguments {
  let model: String
  let modelConfig: String?
  let adapter: String
  let layer: String
  let input: String
  let targets: String?
  let upstream: String?
  let lengths: [Int]?
  let overrides: ModelLayer.Overrides

  init(_ arguments: inout Arguments, model: String, needsObjective: Bool) throws {
    func required(_ name: String, _ what: String) throws -> String {
      guard let value = try arguments.option(name) else {
        throw LoRAGradError.invalidArgument(argument: name, expected: "\(what) (required with --model)", given: "nothing")
      }
      return value
    }
    self.model = model
    modelConfig = try arguments.option("--model-config")
    adapter = try required("--adapter", "a PEFT adapter directory")
    layer = try required("--layer", "the module path of the attention block")
    input = try required("--input", "x.npy")
    targets = try arguments.option("--targets")
    upstream = try arguments.option("--upstream")
    if !needsObjective, let extra = targets.map({ _ in "--targets" }) ?? upstream.map({ _ in "--upstream" }) {
      throw LoRAGradError.invalidArgument(argument: extra, expected: "no objective for this command", given: extra)
    }
    if let text = try arguments.option("--lengths") {
      let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else {
        throw LoRAGradError.invalidArgument(argument: "--lengths", expected: "comma-separated integers l₁,…,l_N", given: "'\(text)'")
      }
      lengths = parts.map { $0! }
    } else {
      lengths = nil
    }
    var overrides = ModelLayer.Overrides()
    if arguments.contains("--heads") { overrides.heads = try arguments.integer("--heads", default: 1, in: 1...65536) }
    if let causal = try arguments.option("--causal") {
      guard causal == "true" || causal == "false" else {
        throw LoRAGradError.invalidArgument(argument: "--causal", expected: "true or false", given: "'\(causal)'")
      }
      overrides.causal = causal == "true"
    }
    if let theta = try arguments.option("--rope-theta") {
      if theta == "none" {
        overrides.ropeTheta = .some(nil)
      } else {
        guard let value = Double(theta), value.isFinite, value > 1 else {
          throw LoRAGradError.invalidArgument(argument: "--rope-theta", expected: "a base θ > 1 or none", given: "'\(theta)'")
        }
        overrides.ropeTheta = .some(value)
      }
    }
    if arguments.contains("--beta") {
      overrides.beta = try arguments.number("--beta", default: 1, expected: "a finite β > 0") { $0.isFinite && $0 > 0 }
    }
    self.overrides = overrides
  }

  func load() throws -> ModelLayer {
    try ModelLayer.load(model: model, modelConfig: modelConfig, adapter: adapter, layer: layer, overrides: overrides)
  }
}
