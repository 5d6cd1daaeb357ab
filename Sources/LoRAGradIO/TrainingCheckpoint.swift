import LoRAGrad

/// A training run's checkpoint (SPEC §9): one file, `checkpoint.safetensors`, replaced atomically
/// (written to a temporary name, then renamed), so a run killed at any moment leaves the previous
/// checkpoint or the new one, whole. It holds the adapters (`adapter.lora_a_μ`, …), the optimiser
/// state (`exp_avg.…`, `exp_avg_sq.…` for Adam, `momentum_buffer.…` for SGD), and in its metadata
/// the step t, the settings, a fingerprint of the problem and the history; the batch order is a
/// function of (seed, t), so that is all the random state there is.
public enum TrainingCheckpoint {
  /// The checkpoint's file name inside `--checkpoint DIR`.
  public static let fileName = "checkpoint.safetensors"
  /// The format tag in the metadata.
  static let formatTag = "loragrad-checkpoint-1"

  /// What a checkpoint restores.
  public struct Contents: Sendable {
    /// The adapters after step t.
    public let adapters: [Projection: LoRAAdapter]
    /// The optimiser state after step t.
    public let state: OptimizerState
    /// Steps 1…t.
    public let history: [TrainingRun.Step]
  }

  /// Writes the run's state into `directory` (created if missing), replacing the previous checkpoint.
  public static func write(_ run: TrainingRun, to directory: String) throws {
    var tensors: [(name: String, tensor: Tensor)] = []
    let moments = momentNames(run.settings.optimizer.kind)
    for projection in run.layer.adapters.keys.sorted() {
      let adapter = run.layer.adapters[projection]!
      for (role, value) in [(TensorRole.adapterA(projection), adapter.a), (.adapterB(projection), adapter.b)] {
        let stem = stemName(role)
        tensors.append(("adapter." + stem, value))
        if let m = run.optimizer.state.firstMoments[role] { tensors.append((moments.first + "." + stem, Tensor(checkedShape: value.shape, scalars: m))) }
        if let v = run.optimizer.state.secondMoments[role], let name = moments.second {
          tensors.append((name + "." + stem, Tensor(checkedShape: value.shape, scalars: v)))
        }
      }
    }
    let history = JSONValue.array(run.history.map { step in
      .array([.int(step.step), .double(step.loss), .string(step.path.rawValue), .double(step.gradientSeconds), .double(step.optimizerSeconds)])
    })
    let metadata = [
      "format": formatTag, "step": "\(run.step)", "settings": settingsJSON(run.settings).description,
      "problem": fingerprint(run.problem), "history": history.rendered,
    ]
    try AtomicWrite.write([(fileName, SafeTensorsFile.encode(tensors, metadata: metadata))], into: directory)
  }

  /// The checkpoint in `directory`, or nil when there is none; throws when it belongs to another
  /// problem or other settings (naming the setting) or is malformed.
  public static func read(_ directory: String, problem: AttentionProblem, settings: TrainingRun.Settings) throws -> Contents? {
    let path = FileAccess.join(directory, fileName)
    guard FileAccess.kind(of: path).exists else { return nil }
    let file = try SafeTensorsFile.open(path)
    let metadata = file.header.metadata
    func invalid(_ expected: String) -> LoRAGradError { .invalidFile(path: path, expected: expected) }
    guard metadata["format"] == formatTag else { throw invalid("metadata \"format\": \"\(formatTag)\" (a LoRAGrad training checkpoint)") }
    guard let stepText = metadata["step"], let step = Int(stepText), step >= 0 else { throw invalid("metadata \"step\": a step count ≥ 0") }
    guard metadata["problem"] == fingerprint(problem) else {
      throw invalid("the problem it was written for (fingerprint \(metadata["problem"] ?? "none")); this problem's is \(fingerprint(problem)): resume with the same inputs, targets, weights and initial adapters")
    }
    let given = settingsJSON(settings)
    guard let text = metadata["settings"], case .object(let saved)? = try? JSONValue.parse(Array(text.utf8)) else {
      throw invalid("metadata \"settings\": a JSON object")
    }
    // Checkpoints written before --precision existed were Float32.
    let defaults: [String: JSONValue] = ["--precision": .string(ExactPrecision.float32.name)]
    for (key, value) in given.members where !sameSetting(saved[key] ?? defaults[key], value) {
      throw LoRAGradError.invalidArgument(
        argument: key, expected: "the checkpoint's value \((saved[key] ?? defaults[key])?.rendered ?? "none") to resume \(path) (or start a new run without --resume)",
        given: value.rendered)
    }
    var history: [TrainingRun.Step] = []
    guard let historyText = metadata["history"], case .array(let records)? = try? JSONValue.parse(Array(historyText.utf8)) else {
      throw invalid("metadata \"history\": a JSON array")
    }
    for record in records {
      guard case .array(let fields) = record, fields.count == 5, let t = fields[0].integer, let loss = fields[1].number,
        case .string(let pathName) = fields[2], let pathValue = AttentionPath(rawValue: pathName), let g = fields[3].number, let o = fields[4].number
      else { throw invalid("history records [step, loss, path, gradient_seconds, optimizer_seconds]") }
      history.append(TrainingRun.Step(step: t, loss: loss, path: pathValue, gradientSeconds: g, optimizerSeconds: o))
    }
    guard history.count == step, history.enumerated().allSatisfy({ $0.element.step == $0.offset + 1 }) else {
      throw invalid("one history record per step 1…\(step), found \(history.count)")
    }
    var adapters: [Projection: LoRAAdapter] = [:]
    var state = OptimizerState(step: step)
    let moments = momentNames(settings.optimizer.kind)
    for projection in problem.layer.adapters.keys.sorted() {
      let initial = problem.layer.adapters[projection]!
      func load(_ name: String, like shape: [Int], required: Bool) throws -> Tensor? {
        guard file.contains(name) else {
          if required { throw invalid("a tensor \"\(name)\"") }
          return nil
        }
        let tensor = try file.tensor(name)
        guard tensor.shape == shape else { throw invalid("\"\(name)\" of shape \(shape), found \(tensor.shapeDescription)") }
        return tensor
      }
      let a = try load("adapter." + stemName(.adapterA(projection)), like: initial.a.shape, required: true)!
      let b = try load("adapter." + stemName(.adapterB(projection)), like: initial.b.shape, required: true)!
      adapters[projection] = LoRAAdapter(a: a, b: b)
      for role in [TensorRole.adapterA(projection), .adapterB(projection)] {
        let shape = role == .adapterA(projection) ? initial.a.shape : initial.b.shape
        let stem = stemName(role)
        state.firstMoments[role] = try load(moments.first + "." + stem, like: shape, required: step > 0 && settings.optimizer.kind != .sgd)?.scalars
        if let second = moments.second { state.secondMoments[role] = try load(second + "." + stem, like: shape, required: step > 0)?.scalars }
      }
    }
    return Contents(adapters: adapters, state: state, history: history)
  }

  /// Equal settings (numbers compared as numbers: 1 and 1.0 are the same).
  private static func sameSetting(_ saved: JSONValue?, _ given: JSONValue) -> Bool {
    if let a = saved?.number, let b = given.number { return a == b }
    return saved == given
  }

  /// The names PyTorch's optimisers give their state: Adam's exp_avg and exp_avg_sq, SGD's momentum_buffer.
  private static func momentNames(_ kind: OptimizerSettings.Kind) -> (first: String, second: String?) {
    kind == .sgd ? ("momentum_buffer", nil) : ("exp_avg", "exp_avg_sq")
  }

  /// "lora_a_q", "lora_b_v": the problem directory's stem of an adapter tensor.
  private static func stemName(_ role: TensorRole) -> String { String(ProblemFiles.name(role).dropLast(4)) }

  /// The settings as the checkpoint stores them, each under its command-line flag.
  static func settingsJSON(_ settings: TrainingRun.Settings) -> JSONObject {
    let o = settings.optimizer
    var object = JSONObject([
      ("--optimizer", .string(o.kind.rawValue)), ("--lr", .double(o.learningRate)), ("--beta1", .double(o.beta1)),
      ("--beta2", .double(o.beta2)), ("--eps", .double(o.epsilon)), ("--weight-decay", .double(o.weightDecay)),
      ("--momentum", .double(o.momentum)), ("--batch", settings.batchSize.map { .int($0) } ?? .null),
      ("--seed", .string("\(settings.seed)")), ("--method", .string(settings.method.name)),
      ("--precision", .string(settings.method.precision.name)),
    ])
    switch settings.method {
    case .polynomial(let p), .auto(let p): object.append("--tol", .double(p.tolerance))
    default: break
    }
    return object
  }

  /// FNV-1a (64 bits) over everything that defines the problem: shapes, settings and the bits of
  /// X, Y, the frozen weights, biases and initial adapters.
  public static func fingerprint(_ problem: AttentionProblem) -> String {
    var hash = FNV1a()
    let layer = problem.layer
    hash.mix(problem.inputs)
    if case .squaredError(let targets) = problem.objective { hash.mix(targets) }
    for projection in Projection.allCases {
      hash.mix(layer.frozenWeights[projection]!)
      if let bias = layer.biases[projection] { hash.mix(UInt64(1)); hash.mix(bias) } else { hash.mix(UInt64(0)) }
      if let adapter = layer.adapters[projection] { hash.mix(UInt64(1)); hash.mix(adapter.a); hash.mix(adapter.b) } else { hash.mix(UInt64(0)) }
    }
    hash.mix(UInt64(layer.heads))
    for value in [layer.alpha, layer.beta, layer.ropeTheta ?? -1] { hash.mix(value.bitPattern) }
    hash.mix(UInt64(layer.causal ? 1 : 0))
    hash.mix(UInt64(layer.useRSLoRA ? 1 : 0))
    for length in problem.keyLengths ?? [] { hash.mix(UInt64(length)) }
    return String(hash.value, radix: 16)
  }
}
