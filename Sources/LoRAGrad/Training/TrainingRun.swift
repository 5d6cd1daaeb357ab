/// A fine-tuning run of a layer's adapters on the squared loss ½ Σ ‖Z − Y‖² (SPEC §9): each step
/// takes a batch of sequences, computes the loss and adapter gradients by the run's method
/// (`auto` decides again every step, as the norms change), and applies the optimiser. A run is a
/// pure function of its problem, settings, adapters, optimiser state and step: the batch of
/// step t depends only on (seed, t), so a run resumed from a checkpoint of those continues with
/// the same bits.
public struct TrainingRun: Sendable {
  /// What a run does each step.
  public struct Settings: Sendable, Equatable {
    /// The optimiser.
    public let optimizer: OptimizerSettings
    /// Sequences per step b, 1 ≤ b ≤ N (nil: all N, in their order).
    public let batchSize: Int?
    /// The seed of the batch order.
    public let seed: UInt64
    /// How each step's gradients are computed.
    public let method: AttentionMethod

    /// The settings of a run.
    public init(optimizer: OptimizerSettings, batchSize: Int? = nil, seed: UInt64 = 0, method: AttentionMethod = .exact) {
      self.optimizer = optimizer
      self.batchSize = batchSize
      self.seed = seed
      self.method = method
    }
  }

  /// One step's record.
  public struct Step: Sendable, Equatable {
    /// The step number t ≥ 1.
    public let step: Int
    /// The loss at the adapters before the step's update.
    public let loss: Double
    /// The path that computed it.
    public let path: AttentionPath
    /// Seconds spent in the forward and backward passes.
    public let gradientSeconds: Double
    /// Seconds spent in the optimiser.
    public let optimizerSeconds: Double

    /// A record.
    public init(step: Int, loss: Double, path: AttentionPath, gradientSeconds: Double, optimizerSeconds: Double) {
      self.step = step
      self.loss = loss
      self.path = path
      self.gradientSeconds = gradientSeconds
      self.optimizerSeconds = optimizerSeconds
    }
  }

  /// The problem: the layer's frozen part, X, Y and the key lengths.
  public let problem: AttentionProblem
  /// The settings.
  public let settings: Settings
  /// The layer with the current adapters.
  public private(set) var layer: AttentionLayer
  /// The optimiser and its state.
  public private(set) var optimizer: Optimizer
  /// Every step so far, in order.
  public private(set) var history: [Step]
  /// The last step's gradients with their regime and error bounds (nil before the first step of this process).
  public private(set) var lastResult: Gradients?

  /// Steps taken so far.
  public var step: Int { optimizer.state.step }

  /// A run from the problem's adapters, or resumed from `adapters`, an optimiser state and the
  /// history of a checkpoint. The problem must have targets and at least one adapter.
  public init(
    problem: AttentionProblem, settings: Settings, adapters: [Projection: LoRAAdapter]? = nil, state: OptimizerState = OptimizerState(),
    history: [Step] = []
  ) throws {
    guard case .squaredError = problem.objective else {
      throw LoRAGradError.invalidArgument(argument: "objective", expected: "targets Y (training minimises ½‖Z − Y‖²)", given: "an upstream gradient dZ")
    }
    guard !problem.layer.adapters.isEmpty else {
      throw LoRAGradError.invalidArgument(argument: "adapters", expected: "at least one adapted projection to train", given: "none")
    }
    if let b = settings.batchSize, !(1...problem.batchCount).contains(b) {
      throw LoRAGradError.invalidArgument(argument: "--batch", expected: "a batch size in 1…N = 1…\(problem.batchCount)", given: "\(b)")
    }
    guard history.count == state.step else {
      throw LoRAGradError.invalidArgument(argument: "history", expected: "one record per step taken (\(state.step))", given: "\(history.count)")
    }
    self.problem = problem
    self.settings = settings
    layer = try adapters.map { try problem.layer.replacingAdapters($0) } ?? problem.layer
    optimizer = Optimizer(settings.optimizer, state: state)
    self.history = history
  }

  /// The sequences of step t (1-based): positions (t−1)·b … t·b − 1 of the endless concatenation of
  /// permutations π₀, π₁, … of 0…N−1, π_e a Fisher–Yates shuffle seeded by (seed, e); all N in
  /// order when b is nil or N.
  public static func batch(step t: Int, sequences n: Int, batchSize: Int?, seed: UInt64) -> [Int] {
    guard let b = batchSize, b < n else { return Array(0..<n) }
    var out: [Int] = []
    var position = (t - 1) * b
    var epoch = -1, permutation: [Int] = []
    while out.count < b {
      if position / n != epoch {
        epoch = position / n
        permutation = Array(0..<n)
        var generator = SplitMix64(seed: seed ^ (UInt64(epoch) &* 0xD1B5_4A32_D192_ED03))
        for i in stride(from: n - 1, to: 0, by: -1) {
          let j = Int(generator.next() % UInt64(i + 1))
          permutation.swapAt(i, j)
        }
      }
      out.append(permutation[position % n])
      position += 1
    }
    return out
  }

  /// Takes one step and returns its record.
  @discardableResult
  public mutating func advance(options: ExecutionOptions) throws -> Step {
    let method = settings.method
    return try advance { batch in try batch.gradients(method: method, inputGradient: false, options: options) }
  }

  /// Takes one step with the batch's loss and adapter gradients computed by `compute` (for
  /// example across the ranks of a job: it must return the same bits on every rank).
  @discardableResult
  public mutating func advance(computing compute: (AttentionProblem) throws -> Gradients) throws -> Step {
    let t = step + 1
    let indices = Self.batch(step: t, sequences: problem.batchCount, batchSize: settings.batchSize, seed: settings.seed)
    let batch = try problem.selecting(sequences: indices, layer: layer)
    let (gradients, gradientSeconds): (Gradients, Double)
    do {
      (gradients, gradientSeconds) = try Stopwatch.measure { try compute(batch) }
    } catch let error as LoRAGradError {
      throw LoRAGradError.outOfRange(quantity: "step \(t)", reason: "\(error)")
    }
    var adapters = layer.adapters
    let optimizerSeconds = Stopwatch.measure { optimizer.step(&adapters, gradients: gradients.adapters) }.seconds
    layer = try layer.replacingAdapters(adapters)
    lastResult = gradients
    let record = Step(step: t, loss: gradients.loss ?? 0, path: gradients.path, gradientSeconds: gradientSeconds, optimizerSeconds: optimizerSeconds)
    history.append(record)
    return record
  }

  /// ½ Σ ‖Z − Y‖² over all N sequences at the current adapters (one forward pass by the run's method).
  public func loss(options: ExecutionOptions) throws -> Double {
    guard case .squaredError(let targets) = problem.objective else { preconditionFailure("checked in init") }
    let output = try layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: settings.method, options: options).output
    return AttentionProblem.squaredError(output, targets: targets).loss
  }
}
