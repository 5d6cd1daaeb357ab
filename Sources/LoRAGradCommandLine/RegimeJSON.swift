import LoRAGrad
import LoRAGradIO

/// The regime's numbers as JSON members, shared by `grad`, `forward` and `regime`.
public enum RegimeJSON {
  /// Appends the verdict, R and the entry bounds, the degrees, feature count and error terms,
  /// the predicted flops and one-thread seconds of both paths, and the crossover L.
  public static func append(_ regime: Regime, to object: inout JSONObject) {
    object.append("verdict", .string(regime.verdict.rawValue))
    object.append("bound", .double(regime.norms.bound))
    object.append("bound_per_head", .array(regime.norms.headBounds.map { .double($0) }))
    object.append("gamma_centred", .double(regime.norms.centredEntryBound))
    object.append("gamma", .double(regime.norms.entryBound))
    if let report = regime.polynomial {
      object.append("degree", .int(report.degree))
      object.append("min_degree", .int(report.minimumDegree))
      object.append("feature_count", .int(report.featureCount))
      var blocks = JSONObject()
      for (degree, count) in report.blocksPerDegree.enumerated() where count > 0 { blocks.append(String(degree), .int(count)) }
      object.append("blocks_per_degree", .object(blocks))
      object.append("chunk_rows", .int(report.chunkRows))
      object.append("polynomial_error", .double(report.polynomialError))
      object.append("rounding_error", .double(report.roundingError))
      object.append("error_bound", .double(report.errorBound))
    } else {
      object.append("degree", .null)
      object.append("feature_count", .null)
      object.append("error_bound", .null)
    }
    object.append("predicted_exact_flops", .double(regime.predictedExactFlops))
    object.append("predicted_poly_flops", regime.polynomial.map { .double($0.flops) } ?? .null)
    object.append("predicted_exact_seconds", .double(regime.predictedExactSeconds))
    object.append("predicted_poly_seconds", regime.predictedPolynomialSeconds.map { .double($0) } ?? .null)
    object.append("crossover_length", regime.crossoverLength.map { .double($0) } ?? .null)
    object.append("cost_model", .string(regime.costModel))
    object.append("reason", .string(regime.reason))
  }

  /// The sizes and layer features of a call as JSON members.
  public static func appendProblem(layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?, to object: inout JSONObject) {
    object.append("sequences", .int(inputs.rank == 3 ? inputs.shape[0] : 1))
    object.append("length", .int(inputs.shape[inputs.rank - 2]))
    object.append("width", .int(layer.modelWidth))
    object.append("heads", .int(layer.heads))
    object.append("lora_rank", .int(layer.loraRank))
    object.append("adapted", .array(layer.adaptedProjections.map { .string($0.rawValue) }))
    object.append("causal", .bool(layer.causal))
    object.append("biases", .array(layer.biases.keys.sorted().map { .string($0.rawValue) }))
    object.append("rope_theta", layer.ropeTheta.map { .double($0) } ?? .null)
    object.append("use_rslora", .bool(layer.useRSLoRA))
    object.append("lengths", keyLengths.map { .array($0.map { .int($0) }) } ?? .null)
  }

  /// The regime (when the method analysed one) and the a-posteriori check (when asked for).
  public static func appendAnalysis(regime: Regime?, check: PolynomialCheck?, tolerance: Double, to object: inout JSONObject) {
    if let regime {
      object.append("tolerance", .double(tolerance))
      append(regime, to: &object)
    }
    if let check {
      object.append("check_rows", .int(check.rows))
      object.append("observed_error_p", .double(check.probabilityError))
      object.append("observed_error_o", .double(check.outputError))
      object.append("check_seconds", .double(check.seconds))
    }
  }

  /// The polynomial path's bounds on what the user gets: "output_error_bound", "loss_error_bound"
  /// and "gradient_error_bound" {"lora_a_q": …, "grad_x": …} (each relative to the largest entry,
  /// the measure of compare.py).
  public static func appendErrorBounds(_ gradients: Gradients, to object: inout JSONObject) {
    guard let bounds = gradients.errorBounds else { return }
    object.append("output_error_bound", gradients.outputErrorBound.map { .double($0) } ?? .null)
    object.append("loss_error_bound", gradients.lossErrorBound.map { .double($0) } ?? .null)
    object.append("gradient_error_bound", .object(gradientBounds(bounds)))
  }

  /// {"lora_a_q": …, "lora_b_q": …, …, "grad_x": …}: the bound of each gradient by its file stem.
  public static func gradientBounds(_ bounds: [TensorRole: Double]) -> JSONObject {
    var members = JSONObject()
    for projection in Projection.allCases {
      for (role, name) in [(TensorRole.adapterA(projection), "lora_a"), (.adapterB(projection), "lora_b")] {
        if let bound = bounds[role] { members.append("\(name)_\(projection.rawValue)", .double(bound)) }
      }
    }
    if let bound = bounds[.inputs] { members.append("grad_x", .double(bound)) }
    return members
  }

  /// The execution options as JSON members.
  public static func appendExecution(_ options: ExecutionOptions, to object: inout JSONObject) {
    object.append("threads", .int(options.parallelism.threads))
    object.append("backend", .string(options.parallelism.backendName))
    object.append("kernels", .string(options.instructionSet.rawValue))
  }
}
