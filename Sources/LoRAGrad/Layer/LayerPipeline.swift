import Foundation

/// The one pipeline every call runs:
///   checks → projection (head view) → the path's phases → projection backward → finiteness.
/// `AttentionLayer.forward`, `.backward` and `.regime`, and through them every client (the
/// squared loss, the command line, training), go through here.
enum LayerPipeline {
  /// Z and lse of `batch` by `method` (with a shard: the polynomial method only, Z and lse of the
  /// shard's rows, zero elsewhere).
  static func forward(
    _ layer: AttentionLayer, batch: LayerBatch, method: AttentionMethod, options: ExecutionOptions, shard: SequenceShard? = nil
  ) throws -> LayerForward {
    try options.parallelism.validate()
    if shard != nil, case .polynomial = method {} else if shard != nil {
      throw LoRAGradError.invalidArgument(
        argument: "split", expected: "the polynomial method for a sequence split (its low-rank sums are what the ranks combine; the exact path splits by sequences)",
        given: method.name)
    }
    let parallelism = options.parallelism
    if case .reference = method {
      try requireReferenceLength(batch)
      let evaluation = ReferenceAttention.evaluate(
        layer, inputs: batch.inputs.scalars.map(Double.init), sequences: batch.shape.sequences, keyLengths: batch.keyLengths)
      return try finished(
        layer, batch: batch, output: evaluation.output.map(Float.init), logSumExp: evaluation.logSumExp.map(Float.init),
        path: .reference, regime: nil, check: nil, settings: .reference)
    }
    let (tiling, polynomialSettings) = try settings(of: method, instructionSet: options.instructionSet, headWidth: layer.headWidth, length: batch.shape.length)
    // k̂ᵀ, Vᵀ only for Float32 exact products (the polynomial kernels read k̂ and V; auto may fall back to exact).
    var forcedPolynomial = false
    if case .polynomial = method { forcedPolynomial = true }
    let view = try HeadView(
      layer, batch: batch, rowMultiple: tiling.keysPerBlock, operations: try options.instructionSet.operations(),
      transposes: tiling.precision == .float32 && !forcedPolynomial, parallelism: parallelism)
    guard let polynomialSettings else {
      let (output, lse) = try FlashAttention.forward(view, tiling: tiling, parallelism: parallelism)
      return try finished(
        layer, batch: batch, output: try HeadSpace.gather(view, width: layer.modelWidth, heads: output, parallelism: parallelism),
        logSumExp: HeadSpace.rowValues(view, lse), path: .exact, regime: nil, check: nil, settings: .exact(tiling))
    }
    let statistics = try PolynomialStatistics(view, rowBlock: polynomialSettings.rowBlock, parallelism: parallelism)
    let plan: PolynomialPlan?, refusal: LoRAGradError?
    if case .polynomial = method {  // the polynomial method refuses with the plan's own reason
      (plan, refusal) = (try PolynomialPlan(view, statistics: statistics, settings: polynomialSettings, shape: batch.shape), nil)
    } else {
      (plan, refusal) = attemptPlan(view, statistics: statistics, settings: polynomialSettings, shape: batch.shape)
    }
    let regime = verdict(statistics, plan: plan, refusal: refusal, shape: batch.shape, costModel: options.costModel)
    guard let chosen = plan, forcedPolynomial || regime.verdict == .polynomial else {
      let (output, lse) = try FlashAttention.forward(view, tiling: tiling, parallelism: parallelism)
      return try finished(
        layer, batch: batch, output: try HeadSpace.gather(view, width: layer.modelWidth, heads: output, parallelism: parallelism),
        logSumExp: HeadSpace.rowValues(view, lse), path: .exact, regime: regime, check: nil, settings: .exact(tiling))
    }
    let (output, lse) = try PolynomialAttention.forward(view, statistics: statistics, plan: chosen, shard: shard, parallelism: parallelism)
    let check = polynomialSettings.checkRows > 0 && shard == nil
      ? PolynomialCheck.measure(view, statistics: statistics, plan: chosen, output: output, logSumExp: lse, rows: polynomialSettings.checkRows)
      : nil
    let rows = try HeadSpace.gather(view, width: layer.modelWidth, heads: output, parallelism: parallelism)
    // |Z̃_ic − Z_ic| ≤ E_b Σ_j P_ij |V_jc| ≤ E_b max_j |V_jc| for the block b of row i (a shard: of its rows).
    let d = layer.modelWidth, h = layer.headWidth, hs = Int(view.layout.head_stride), l = batch.shape.length
    let own = shard?.rows(chosen.geometry, length: l) ?? 0..<l
    var bound = [Float](repeating: 0, count: rows.count)
    for n in 0..<batch.shape.sequences {
      for head in 0..<layer.heads {
        let pair = n * layer.heads + head
        for i in own {
          let error = chosen.blockError.base[pair * statistics.blocks + i / statistics.rowBlock]
          for c in 0..<h { bound[(n * l + i) * d + head * h + c] = (error * statistics.valueMax.base[pair * hs + c]).nextUp }
        }
      }
    }
    let scale = rows.lazy.map { abs(Double($0)) }.max() ?? 0, largest = Double(bound.max() ?? 0)
    var result = try finished(
      layer, batch: batch, output: rows, logSumExp: HeadSpace.rowValues(view, lse), path: .polynomial, regime: regime, check: check,
      settings: .polynomial(polynomialSettings))
    result.outputBound = (scale > 0 ? largest / scale : largest, batch.callerShaped(bound))
    if shard != nil {
      result.ownRows = own
      result.shardState = ShardState(view: view, statistics: statistics, plan: chosen)
    }
    return result
  }

  /// Every adapter gradient and dX from the caller's dZ, by the path `saved` took.
  static func backward(
    _ layer: AttentionLayer, batch: LayerBatch, saved: LayerForward, upstream dz: Tensor, inputGradient: Bool,
    options: ExecutionOptions, names: InputNames = .mathematical, shard: SequenceShard? = nil
  ) throws -> LayerGradients {
    try options.parallelism.validate()
    try batch.requireLikeInputs(dz, .upstream, names: names)
    try batch.requireLikeInputs(saved.output, .output, names: names)
    let expectedLSE = [batch.shape.sequences, batch.shape.heads, batch.shape.length]
    guard saved.logSumExp.shape == expectedLSE else {
      throw LoRAGradError.shapeMismatch(name: names.tensor(.logSumExp), expected: Tensor.describe(expectedLSE), given: saved.logSumExp.shapeDescription)
    }
    let parallelism = options.parallelism
    if shard != nil, case .polynomial = saved.settings {} else if shard != nil {
      throw LoRAGradError.invalidArgument(argument: "split", expected: "a forward pass of the polynomial method for a sequence split", given: saved.path.rawValue)
    }
    let gradients: (adapters: [Projection: LoRAAdapter], inputGradient: [Float]?)
    var entrywise: [TensorRole: Tensor]?
    // dX in the caller's shape; with a shard, of its own rows only: [N, rows, D].
    var shapeInput: ([Float]) -> Tensor = batch.callerShaped
    switch saved.settings {
    case .reference:
      try requireReferenceLength(batch)
      let evaluation = ReferenceAttention.evaluate(
        layer, inputs: batch.inputs.scalars.map(Double.init), sequences: batch.shape.sequences, keyLengths: batch.keyLengths,
        upstream: dz.scalars.map(Double.init))
      let r = layer.loraRank, d = layer.modelWidth
      gradients = (
        evaluation.adapterGradients.mapValues {
          LoRAAdapter(a: Tensor(checkedShape: [r, d], scalars: $0.a.map(Float.init)), b: Tensor(checkedShape: [d, r], scalars: $0.b.map(Float.init)))
        },
        inputGradient ? evaluation.inputGradient.map(Float.init) : nil)
    case let .exact(tiling):
      let view = try HeadView(
        layer, batch: batch, rowMultiple: tiling.keysPerBlock, operations: try options.instructionSet.operations(),
        transposes: tiling.precision == .float32, parallelism: parallelism)
      let (dO, delta) = try HeadSpace.upstream(view, width: layer.modelWidth, upstream: dz, output: saved.output, parallelism: parallelism)
      let lse = try view.rowBuffer("lse")
      let l = batch.shape.length, lp = Int(view.layout.padded_length)
      for pair in 0..<view.pairs { for i in 0..<l { lse.base[pair * lp + i] = saved.logSumExp.scalars[pair * l + i] } }
      let heads = try FlashAttention.backward(view, tiling: tiling, upstream: dO, logSumExp: lse, delta: delta!, parallelism: parallelism)
      gradients = try ProjectionBackward.compute(
        layer, batch: batch, view: view, gradients: heads, inputGradient: inputGradient, parallelism: parallelism)
    case let .polynomial(settings):
      let view: HeadView, statistics: PolynomialStatistics, plan: PolynomialPlan
      if shard != nil, let state = saved.shardState {  // the shard's forward pass left them
        (view, statistics, plan) = (state.view, state.statistics, state.plan)
      } else {
        view = try HeadView(
          layer, batch: batch, rowMultiple: polynomialRowMultiple, operations: try options.instructionSet.operations(),
          transposes: false, parallelism: parallelism)
        statistics = try PolynomialStatistics(view, rowBlock: settings.rowBlock, parallelism: parallelism)
        plan = try PolynomialPlan(view, statistics: statistics, settings: settings, shape: batch.shape)
      }
      let (dO, _) = try HeadSpace.upstream(view, width: layer.modelWidth, upstream: dz, output: nil, parallelism: parallelism)
      let (heads, limits) = try PolynomialAttention.backward(
        view, statistics: statistics, plan: plan, upstream: dO, bounds: true, shard: shard, parallelism: parallelism)
      let rows = shard?.rows(plan.geometry, length: batch.shape.length)  // a shard's head gradients are zero elsewhere
      if let rows {
        shapeInput = { Tensor(checkedShape: [batch.shape.sequences, rows.count, layer.modelWidth], scalars: $0) }
      }
      gradients = try ProjectionBackward.compute(
        layer, batch: batch, view: view, gradients: heads, inputGradient: inputGradient, rows: rows, parallelism: parallelism)
      let bounds = try ProjectionBackward.compute(
        layer, batch: batch, view: view, gradients: limits!, inputGradient: inputGradient, mode: .bounds(values: heads),
        rows: rows, parallelism: parallelism)
      var tensors: [TensorRole: Tensor] = [:]
      for (projection, pair) in bounds.adapters {
        tensors[.adapterA(projection)] = pair.a
        tensors[.adapterB(projection)] = pair.b
      }
      if let input = bounds.inputGradient { tensors[.inputs] = shapeInput(input) }
      entrywise = tensors
    }
    let reason = "overflowed Float32 on the \(saved.path.rawValue) path (finite inputs whose logits, outputs or gradients exceed 3.4e38); rescale x or the weights"
    for projection in gradients.adapters.keys.sorted() {
      let pair = gradients.adapters[projection]!
      for (role, tensor) in [(TensorRole.adapterA(projection), pair.a), (.adapterB(projection), pair.b)] where tensor.firstNonFiniteIndex != nil {
        throw LoRAGradError.outOfRange(quantity: "∂loss/∂\(role)", reason: reason)
      }
    }
    guard gradients.inputGradient?.firstNonFiniteIndex == nil else {
      throw LoRAGradError.outOfRange(quantity: "∂loss/∂X", reason: reason)
    }
    var result = LayerGradients(adapters: gradients.adapters, input: gradients.inputGradient.map(shapeInput), path: saved.path)
    result.precision = saved.precision
    if let entrywise {
      var relative: [TensorRole: Double] = [:]
      for (role, bound) in entrywise {
        let value: Tensor
        switch role {
        case .adapterA(let p): value = result.adapters[p]!.a
        case .adapterB(let p): value = result.adapters[p]!.b
        default: value = result.input!
        }
        relative[role] = LayerGradients.relativeBound(bound.scalars.lazy.map(Double.init).max() ?? 0, of: value.scalars)
      }
      result.errorBounds = relative
      result.entrywiseErrorBounds = entrywise
    }
    return result
  }

  /// The regime of `batch` at the polynomial settings: projection and statistics only.
  static func regime(
    _ layer: AttentionLayer, batch: LayerBatch, settings: PolynomialSettings, options: ExecutionOptions
  ) throws -> Regime {
    try options.parallelism.validate()
    try settings.validate()
    let view = try HeadView(
      layer, batch: batch, rowMultiple: polynomialRowMultiple, operations: try options.instructionSet.operations(),
      transposes: false, parallelism: options.parallelism)
    let statistics = try PolynomialStatistics(view, rowBlock: settings.rowBlock, parallelism: options.parallelism)
    let (plan, refusal) = attemptPlan(view, statistics: statistics, settings: settings, shape: batch.shape)
    return verdict(statistics, plan: plan, refusal: refusal, shape: batch.shape, costModel: options.costModel)
  }

  /// The plan, or the reason the polynomial path cannot meet ε.
  private static func attemptPlan(
    _ view: HeadView, statistics: PolynomialStatistics, settings: PolynomialSettings, shape: AttentionShape
  ) -> (PolynomialPlan?, LoRAGradError?) {
    do {
      return (try PolynomialPlan(view, statistics: statistics, settings: settings, shape: shape), nil)
    } catch let error as LoRAGradError {
      return (nil, error)
    } catch {
      return (nil, .toleranceUnreachable(reason: "\(error)"))
    }
  }

  /// The verdict of the cost model (one-thread predictions, so independent of the thread count).
  private static func verdict(
    _ statistics: PolynomialStatistics, plan: PolynomialPlan?, refusal: LoRAGradError?, shape: AttentionShape, costModel: CostModel
  ) -> Regime {
    let exactSeconds = costModel.exactSeconds(shape)
    var regime = Regime(
      verdict: .exact, reason: refusal.map { "\($0)" } ?? "", norms: statistics.norms, polynomial: nil,
      predictedExactFlops: CostModel.exactFlops(shape), predictedExactSeconds: exactSeconds, predictedPolynomialSeconds: nil,
      crossoverLength: nil, costModel: costModel.source)
    guard let report = plan?.report else { return regime }
    let polynomialSeconds = costModel.polynomialSeconds(shape, featureCount: report.featureCount, chunkRows: report.chunkRows)
    let faster = polynomialSeconds < exactSeconds
    regime.verdict = faster ? .polynomial : .exact
    regime.polynomial = report
    regime.predictedPolynomialSeconds = polynomialSeconds
    regime.crossoverLength = costModel.crossoverLength(
      headWidth: shape.headWidth, featureCount: report.featureCount, causal: shape.causal, chunkRows: report.chunkRows)
    let needs = "R = \(formatted(statistics.norms.bound)) needs degree \(report.degree), \(report.featureCount) features"
    regime.reason = faster
      ? "\(needs): predicted \(String(format: "%.3g", exactSeconds / polynomialSeconds))× faster than exact"
      : "\(needs): the exact path is predicted faster at L = \(shape.length)"
    return regime
  }

  /// The padding granularity of the polynomial path's views (its blocks are `rowBlock` rows, a
  /// multiple of 16; the 64 keeps the bits it has always had).
  static let polynomialRowMultiple = 64

  /// The exact tiling, resolved (its key block is the view's padding granularity) and, for poly
  /// and auto, the polynomial settings. Auto's exact fallback shares the polynomial attempt's view,
  /// so it runs key blocks of `polynomialRowMultiple`.
  private static func settings(
    of method: AttentionMethod, instructionSet: KernelInstructionSet, headWidth: Int, length: Int
  ) throws -> (FlashTiling, PolynomialSettings?) {
    let resolve = { (tiling: FlashTiling) in tiling.resolved(for: instructionSet, headWidth: headWidth, length: length) }
    switch method {
    case let .exact(tiling):
      try tiling.validate()
      return (resolve(tiling), nil)
    case let .polynomial(settings), let .auto(settings):
      try settings.validate()
      return (resolve(FlashTiling(keyBlock: polynomialRowMultiple)), settings)
    case .reference:
      return (resolve(FlashTiling(keyBlock: polynomialRowMultiple)), nil)
    }
  }

  private static func requireReferenceLength(_ batch: LayerBatch) throws {
    guard batch.shape.length <= ReferenceAttention.maximumLength else {
      throw LoRAGradError.invalidArgument(
        argument: "method",
        expected: "the reference only for L ≤ \(ReferenceAttention.maximumLength) (it materialises L×L Float64 matrices); use exact",
        given: "reference at L = \(batch.shape.length)")
    }
  }

  /// The forward result after checking that Z and lse are finite.
  private static func finished(
    _ layer: AttentionLayer, batch: LayerBatch, output: [Float], logSumExp: [Float], path: AttentionPath, regime: Regime?,
    check: PolynomialCheck?, settings: PathSettings
  ) throws -> LayerForward {
    guard output.firstNonFiniteIndex == nil, logSumExp.firstNonFiniteIndex == nil else {
      throw LoRAGradError.outOfRange(
        quantity: "Z", reason: "overflowed Float32 on the \(path.rawValue) path (finite inputs whose logits or outputs exceed 3.4e38); rescale x or the weights")
    }
    return LayerForward(
      output: batch.callerShaped(output),
      logSumExp: Tensor(checkedShape: [batch.shape.sequences, batch.shape.heads, batch.shape.length], scalars: logSumExp),
      path: path, regime: regime, check: check, keyLengths: batch.keyLengths, outputErrorBound: nil, entrywiseOutputBound: nil,
      settings: settings)
  }
}
