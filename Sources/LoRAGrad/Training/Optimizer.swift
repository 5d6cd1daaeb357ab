/// The update rules of PyTorch's `torch.optim.Adam`, `AdamW` and `SGD` (their single-tensor CPU
/// loops) on Float32 parameters, in the same Float32 operation order:
///   Adam:  g ← g + λ·p;  m ← m + (1−β₁)(g − m);  v ← β₂·v + (1−β₂)·g·g;
///          p ← p − (lr/(1−β₁ᵗ))·m / (√v / √(1−β₂ᵗ) + ε)
///   AdamW: p ← p·(1 − lr·λ) first, then the Adam step without λ in g;
///   SGD:   g ← g + λ·p;  b ← g (first step) or μ·b + g;  p ← p − lr·(μ ≠ 0 ? b : g).
/// Scalars are formed in Float64 as Python does and rounded to Float32 where PyTorch rounds them.
public struct OptimizerSettings: Sendable, Equatable {
  /// Which rule.
  public enum Kind: String, Sendable, CaseIterable {
    /// `torch.optim.Adam` (weight decay as an L2 term in the gradient).
    case adam
    /// `torch.optim.AdamW` (decoupled weight decay).
    case adamw
    /// `torch.optim.SGD` (optional momentum, no dampening, no Nesterov).
    case sgd
  }

  /// The rule.
  public let kind: Kind
  /// The learning rate lr > 0.
  public let learningRate: Double
  /// β₁ ∈ [0, 1) (Adam, AdamW).
  public let beta1: Double
  /// β₂ ∈ [0, 1) (Adam, AdamW).
  public let beta2: Double
  /// ε > 0 (Adam, AdamW).
  public let epsilon: Double
  /// The weight decay λ ≥ 0 (PyTorch's defaults: 0 for Adam and SGD, 1e-2 for AdamW).
  public let weightDecay: Double
  /// The momentum μ ≥ 0 (SGD).
  public let momentum: Double

  /// Validated settings; defaults are PyTorch's (β = (0.9, 0.999), ε = 1e-8, λ = 0 or 1e-2 for AdamW).
  public init(
    kind: Kind, learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double? = nil,
    momentum: Double = 0
  ) throws {
    func check(_ ok: Bool, _ name: String, _ expected: String, _ value: Double) throws {
      guard ok else { throw LoRAGradError.invalidArgument(argument: name, expected: expected, given: "\(value)") }
    }
    try check(learningRate.isFinite && learningRate > 0, "--lr", "a learning rate > 0", learningRate)
    try check(beta1 >= 0 && beta1 < 1, "--beta1", "β₁ in [0, 1)", beta1)
    try check(beta2 >= 0 && beta2 < 1, "--beta2", "β₂ in [0, 1)", beta2)
    try check(epsilon.isFinite && epsilon > 0, "--eps", "ε > 0", epsilon)
    let decay = weightDecay ?? (kind == .adamw ? 1e-2 : 0)
    try check(decay.isFinite && decay >= 0, "--weight-decay", "λ ≥ 0", decay)
    try check(momentum.isFinite && momentum >= 0, "--momentum", "μ ≥ 0", momentum)
    self.kind = kind
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = decay
    self.momentum = momentum
  }
}

/// An optimiser's state: the step count t and, per parameter, Adam's m and v or SGD's momentum
/// buffer b (as `firstMoments`), all Float32 like PyTorch's.
public struct OptimizerState: Sendable, Equatable {
  /// Steps taken so far.
  public var step: Int
  /// m (Adam) or the momentum buffer (SGD), per parameter.
  public var firstMoments: [TensorRole: [Float]]
  /// v (Adam), per parameter.
  public var secondMoments: [TensorRole: [Float]]

  /// The state before the first step.
  public init(step: Int = 0, firstMoments: [TensorRole: [Float]] = [:], secondMoments: [TensorRole: [Float]] = [:]) {
    self.step = step
    self.firstMoments = firstMoments
    self.secondMoments = secondMoments
  }
}

/// An optimiser over named Float32 parameters (see `OptimizerSettings` for the rules).
public struct Optimizer: Sendable {
  /// The rule and its hyperparameters.
  public let settings: OptimizerSettings
  /// t and the moments.
  public private(set) var state: OptimizerState

  /// An optimiser at `state` (default: before the first step).
  public init(_ settings: OptimizerSettings, state: OptimizerState = OptimizerState()) {
    self.settings = settings
    self.state = state
  }

  /// One step: every parameter in `parameters` updated in place from its gradient.
  public mutating func step(_ parameters: inout [TensorRole: [Float]], gradients: [TensorRole: [Float]]) {
    state.step += 1
    for role in parameters.keys.sorted(by: { $0.description < $1.description }) {
      guard let gradient = gradients[role] else { continue }
      update(&parameters[role]!, gradient: gradient, role: role)
    }
  }

  /// One step of the adapters A_μ, B_μ from their gradients.
  public mutating func step(_ adapters: inout [Projection: LoRAAdapter], gradients: [Projection: LoRAAdapter]) {
    var parameters: [TensorRole: [Float]] = [:], grads: [TensorRole: [Float]] = [:]
    for (projection, adapter) in adapters {
      parameters[.adapterA(projection)] = adapter.a.scalars
      parameters[.adapterB(projection)] = adapter.b.scalars
      grads[.adapterA(projection)] = gradients[projection]?.a.scalars
      grads[.adapterB(projection)] = gradients[projection]?.b.scalars
    }
    step(&parameters, gradients: grads)
    for projection in adapters.keys {
      adapters[projection]!.a.scalars = parameters[.adapterA(projection)]!
      adapters[projection]!.b.scalars = parameters[.adapterB(projection)]!
    }
  }

  /// The update of one parameter at step t = state.step.
  private mutating func update(_ p: inout [Float], gradient: [Float], role: TensorRole) {
    let s = settings
    let decay = Float(s.weightDecay)
    switch s.kind {
    case .adam, .adamw:
      var m = state.firstMoments[role] ?? [Float](repeating: 0, count: p.count)
      var v = state.secondMoments[role] ?? [Float](repeating: 0, count: p.count)
      let t = Double(state.step)
      let stepSize = Float(-(s.learningRate / (1 - pow(s.beta1, t))))
      let correction2 = Float((1 - pow(s.beta2, t)).squareRoot())
      let (weight, b2, oneMinusB2, eps) = (Float(1 - s.beta1), Float(s.beta2), Float(1 - s.beta2), Float(s.epsilon))
      let shrink = Float(1 - s.learningRate * s.weightDecay)
      for i in p.indices {
        var g = gradient[i]
        if s.kind == .adamw {
          if s.weightDecay != 0 { p[i] *= shrink }
        } else if s.weightDecay != 0 {
          g = g.addingProduct(decay, p[i])
        }
        m[i] = m[i].addingProduct(weight, g - m[i])  // lerp, |w| < ½ branch (fused)
        v[i] = v[i] * b2 + oneMinusB2 * g * g
        let denominator = v[i].squareRoot() / correction2 + eps
        p[i] = p[i] + stepSize * m[i] / denominator
      }
      state.firstMoments[role] = m
      state.secondMoments[role] = v
    case .sgd:
      let rate = Float(-s.learningRate), mu = Float(s.momentum)
      var g = gradient
      if s.weightDecay != 0 { for i in g.indices { g[i] = g[i].addingProduct(decay, p[i]) } }
      if s.momentum != 0 {
        if var buffer = state.firstMoments[role] {
          for i in buffer.indices { buffer[i] = buffer[i] * mu + g[i] }
          g = buffer
        }
        state.firstMoments[role] = g
      }
      for i in p.indices { p[i] = p[i].addingProduct(rate, g[i]) }
    }
  }
}

import Foundation
