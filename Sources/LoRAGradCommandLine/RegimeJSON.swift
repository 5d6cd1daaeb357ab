import LoRAGrad

/// The regime's numbers as JSON members, shared by `grad` and `regime`.
public enum RegimeJSON {
  /// Appends verdict, R, Γ, degree (largest, smallest, blocks per degree), rank, error terms,
  /// predicted flops and seconds of both paths, and the crossover L.
  public static func append(_ regime: Regime, to object: inout JSONObject) {
    object.append("verdict", .string(regime.verdict))
    object.append("bound", .double(regime.bound))
    object.append("gamma", .double(regime.gamma))
    if let report = regime.polynomial {
      object.append("degree", .int(report.degree))
      object.append("min_degree", .int(report.minimumDegree))
      object.append("rank", .int(report.rank))
      var blocks = JSONObject()
      for (degree, count) in report.blocksPerDegree.enumerated() where count > 0 { blocks.append(String(degree), .int(count)) }
      object.append("blocks_per_degree", .object(blocks))
      object.append("polynomial_error", .double(report.polynomialError))
      object.append("rounding_error", .double(report.roundingError))
      object.append("error_bound", .double(report.errorBound))
    } else {
      object.append("degree", .null)
      object.append("rank", .null)
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
}
