import Foundation

/// How the loss and adapter gradients are computed.
public enum GradientMethod: Sendable, Equatable {
  /// The exact tiled path (FlashAttention-2 style), Float32, quadratic in L, linear memory.
  case exact(FlashTiling)
  /// The almost-linear polynomial path; refuses (`toleranceUnreachable`) when no degree within
  /// the memory budget meets the tolerance.
  case polynomial(PolynomialSettings)
  /// The polynomial path when it meets the tolerance and the cost model predicts it is faster,
  /// the exact path otherwise.
  case auto(PolynomialSettings)
  /// The Float64 reference that materialises P (small problems only; the tests' oracle).
  case reference

  /// The exact path with the standard tiling.
  public static var exact: GradientMethod { .exact(.standard) }
  /// The polynomial path at tolerance ε with default settings.
  public static func polynomial(tolerance: Double) -> GradientMethod { .polynomial(PolynomialSettings(tolerance: tolerance)) }
  /// The automatic choice at tolerance ε with default settings.
  public static func auto(tolerance: Double) -> GradientMethod { .auto(PolynomialSettings(tolerance: tolerance)) }

  /// The method's name as the command line spells it.
  public var name: String {
    switch self {
    case .exact: return "exact"
    case .polynomial: return "poly"
    case .auto: return "auto"
    case .reference: return "reference"
    }
  }
}

/// The regime of a problem at a tolerance: whether the polynomial method can be accurate and
/// cheap (entries below the bound) or not, with the numbers behind the verdict.
public struct Regime: Sendable, Equatable {
  /// "poly" when the polynomial path meets ε and is predicted faster, else "exact".
  public var verdict: String
  /// Why, in one line.
  public var reason: String
  /// R, the largest norm bound max‖√β Q_i‖·max‖√β (K_j − μ)‖ over pairs and blocks.
  public var bound: Double
  /// Γ, the largest |entry| of √β·Q and √β·(K − μ).
  public var gamma: Double
  /// The polynomial path's plan, when a degree within the budget meets ε.
  public var polynomial: PolynomialReport?
  /// Predicted floating-point operations of the exact path as run (14·N·H·L²·h_padded: P is recomputed).
  public var predictedExactFlops: Double
  /// Predicted seconds of the exact path.
  public var predictedExactSeconds: Double
  /// Predicted seconds of the polynomial path (nil when it cannot meet ε).
  public var predictedPolynomialSeconds: Double?
  /// The sequence length above which the polynomial path wins at this head width and rank.
  public var crossoverLength: Double?
  /// The cost model's source ("nominal" or a calibration file).
  public var costModel: String
}

/// The loss and the gradient of every adapter matrix, and how they were obtained.
public struct Gradients: Sendable {
  /// The loss ½ Σ ‖Z − Y‖²_F, accumulated in Float64.
  public var loss: Double
  /// For each adapted projection μ, the pair (∂loss/∂A_μ [r, D], ∂loss/∂B_μ [D, r]).
  public var adapters: [Projection: LoRAAdapter]
  /// The path that ran: "exact", "poly" or "reference".
  public var path: String
  /// The regime analysis (polynomial and auto methods).
  public var regime: Regime?
  /// The observed error on sampled rows, when a check was requested.
  public var check: PolynomialCheck?

  /// A result from its loss and adapter gradients.
  public init(loss: Double, adapters: [Projection: LoRAAdapter], path: String = "exact", regime: Regime? = nil, check: PolynomialCheck? = nil) {
    self.loss = loss
    self.adapters = adapters
    self.path = path
    self.regime = regime
    self.check = check
  }
}

extension AttentionProblem {
  /// The loss and the gradient of every adapter matrix, by `method`, on the cores `parallelism`
  /// names; `checkRows` > 0 samples that many query rows and measures the polynomial path's
  /// observed error against exact rows (O(checkRows·L·h)).
  public func gradients(
    method: GradientMethod = .exact, parallelism: Parallelism, checkRows: Int = 0, costModel: CostModel = .load()
  ) throws -> Gradients {
    let result = try unguardedGradients(method: method, parallelism: parallelism, checkRows: checkRows, costModel: costModel)
    try result.requireFinite()
    return result
  }

  /// `gradients(method:…)` before the check that the loss and every gradient are finite.
  private func unguardedGradients(
    method: GradientMethod, parallelism: Parallelism, checkRows: Int, costModel: CostModel
  ) throws -> Gradients {
    try parallelism.validate()
    guard checkRows >= 0 else {
      throw LoRAGradError.invalidArgument(argument: "check", expected: "a number of rows ≥ 0", given: "\(checkRows)")
    }
    switch method {
    case .reference:
      guard sequenceLength <= ReferenceAttention.maximumLength else {
        throw LoRAGradError.invalidArgument(
          argument: "method",
          expected: "the reference only for L ≤ \(ReferenceAttention.maximumLength) (it materialises L×L Float64 matrices); use exact",
          given: "reference at L = \(sequenceLength)")
      }
      var result = ReferenceAttention.gradients(self)
      result.path = "reference"
      return result
    case let .exact(tiling):
      try tiling.validate()
      return FlashAttention.gradients(self, tiling: tiling, parallelism: parallelism)
    case let .polynomial(settings), let .auto(settings):
      try settings.validate()
      let tiling = FlashTiling.standard
      let layout = HeadLayout(self, rowMultiple: max(tiling.keyBlock, tiling.queryBlock))
      let batch = ProjectedBatch(self, layout: layout, parallelism: parallelism)
      let analysis = PolynomialAttention.analyse(batch, layout: layout, beta: beta, settings: settings, parallelism: parallelism)
      let regime = regime(analysis, settings: settings, threads: parallelism.threads, costModel: costModel)
      let usePolynomial: Bool
      if case .polynomial = method {
        if case let .failure(error) = analysis.plan { throw error }
        usePolynomial = true
      } else {
        usePolynomial = regime.verdict == "poly"
      }
      guard usePolynomial, case let .success(plan) = analysis.plan else {
        let attention = FlashAttention.backward(batch, layout: layout, beta: beta, tiling: tiling, parallelism: parallelism)
        let adapters = AdapterGradients.compute(self, layout: layout, backward: attention, parallelism: parallelism)
        return Gradients(loss: attention.loss, adapters: adapters, path: "exact", regime: regime)
      }
      let (attention, output) = PolynomialAttention.backward(
        batch, layout: layout, beta: beta, settings: settings, analysis: analysis, plan: plan, parallelism: parallelism)
      let check = checkRows > 0
        ? PolynomialCheck.measure(self, batch: batch, layout: layout, analysis: analysis, plan: plan, output: output, rows: checkRows)
        : nil
      let adapters = AdapterGradients.compute(self, layout: layout, backward: attention, parallelism: parallelism)
      return Gradients(loss: attention.loss, adapters: adapters, path: "poly", regime: regime, check: check)
    }
  }

  /// The regime of this problem at tolerance ε: R, Γ, the degree and rank the polynomial path
  /// would need, the predicted seconds of both paths, and the verdict. Costs the projections
  /// and one O(N·H·L·h) pass over the norms.
  public func regime(
    tolerance: Double, parallelism: Parallelism = .serial, settings: PolynomialSettings? = nil, costModel: CostModel = .load()
  ) throws -> Regime {
    try parallelism.validate()
    var chosen = settings ?? PolynomialSettings(tolerance: tolerance)
    chosen.tolerance = tolerance
    try chosen.validate()
    let tiling = FlashTiling.standard
    let layout = HeadLayout(self, rowMultiple: max(tiling.keyBlock, tiling.queryBlock))
    let batch = ProjectedBatch(self, layout: layout, parallelism: parallelism)
    let analysis = PolynomialAttention.analyse(batch, layout: layout, beta: beta, settings: chosen, parallelism: parallelism)
    return regime(analysis, settings: chosen, threads: parallelism.threads, costModel: costModel)
  }

  private func regime(
    _ analysis: PolynomialAttention.Analysis, settings: PolynomialSettings, threads: Int, costModel: CostModel
  ) -> Regime {
    let exactSeconds = costModel.exactSeconds(self, threads: threads)
    let exactFlops = CostModel.exactFlops(self)
    switch analysis.plan {
    case let .failure(error):
      return Regime(
        verdict: "exact", reason: "\(error)", bound: analysis.bound, gamma: analysis.gamma, polynomial: nil,
        predictedExactFlops: exactFlops, predictedExactSeconds: exactSeconds, predictedPolynomialSeconds: nil, crossoverLength: nil, costModel: costModel.source)
    case let .success(plan):
      let report = plan.report
      let polySeconds = costModel.polynomialSeconds(self, rank: report.rank, threads: threads)
      let faster = polySeconds < exactSeconds
      let reason = faster
        ? "R = \(String(format: "%.4g", report.bound)) needs degree \(report.degree), rank \(report.rank): predicted \(String(format: "%.3g", exactSeconds / polySeconds))× faster than exact"
        : "R = \(String(format: "%.4g", report.bound)) needs degree \(report.degree), rank \(report.rank): the exact path is predicted faster at L = \(sequenceLength)"
      return Regime(
        verdict: faster ? "poly" : "exact", reason: reason, bound: analysis.bound, gamma: analysis.gamma, polynomial: report,
        predictedExactFlops: exactFlops, predictedExactSeconds: exactSeconds, predictedPolynomialSeconds: polySeconds,
        crossoverLength: costModel.crossoverLength(headWidth: headWidth, rank: report.rank), costModel: costModel.source)
    }
  }
}

extension FlashTiling {
  /// Throws unless the block sizes are positive multiples of 16 and there is at least one key group.
  func validate() throws {
    for (name, value) in [("queryBlock", queryBlock), ("keyBlock", keyBlock)] where value < 16 || value % 16 != 0 {
      throw LoRAGradError.invalidArgument(argument: name, expected: "a positive multiple of 16", given: "\(value)")
    }
    guard maxKeyGroups >= 1 else {
      throw LoRAGradError.invalidArgument(argument: "maxKeyGroups", expected: "an integer ≥ 1", given: "\(maxKeyGroups)")
    }
  }
}

/// The number of cores the operating system reports as active.
public var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }

extension Gradients {
  /// Throws `outOfRange` naming the loss or the first adapter gradient that holds ±Inf or NaN:
  /// finite inputs whose logits β·q·k, outputs or gradients leave Float32's range.
  func requireFinite() throws {
    let reason = "overflowed Float32 on the \(path) path (finite inputs whose logits β·q·k, outputs or gradients exceed 3.4e38); rescale x or the weights"
    guard loss.isFinite else { throw LoRAGradError.outOfRange(quantity: "loss", reason: reason) }
    for projection in adapters.keys.sorted() {
      let pair = adapters[projection]!
      for (name, tensor) in [("lora_a", pair.a), ("lora_b", pair.b)] where tensor.firstNonFiniteIndex != nil {
        throw LoRAGradError.outOfRange(quantity: "∂loss/∂\(name)_\(projection.rawValue)", reason: reason)
      }
    }
  }

  /// max over the adapter matrices of max|g − g_ref| / max|g_ref| (∞ when an adapter is missing):
  /// the error measure of the accuracy targets.
  public func maxRelativeDifference(from reference: Gradients) -> Double {
    var worst = 0.0
    for (projection, expected) in reference.adapters {
      guard let actual = adapters[projection] else { return .infinity }
      for (x, y) in [(actual.a, expected.a), (actual.b, expected.b)] {
        let scale = y.scalars.map { abs(Double($0)) }.max() ?? 0
        let error = zip(x.scalars, y.scalars).map { abs(Double($0) - Double($1)) }.max() ?? 0
        worst = max(worst, scale == 0 ? error : error / scale)
      }
    }
    return worst
  }
}
