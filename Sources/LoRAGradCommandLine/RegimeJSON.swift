import LoRAGrad

/// The regime's numbers as JSON members, shared by `grad` and `regime`.
public enum RegimeJSON {
  /// Appends verdict, R, Γ, degree, rank, error bound, predicted seconds and crossover L.
  public static func append(_ regime: Regime, to object: inout JSONObject) {
    object.append("verdict", .string(regime.verdict))
    object.append("bound", .double(regime.bound))
    object.append("gamma", .double(regime.gamma))
    if let report = regime.polynomial {
      object.append("degree", .int(report.degree))
      object.append("min_degree", .int(report.minimumDegree))
      object.append("rank", .int(report.rank))
      object.append("polynomial_error", .double(report.polynomialError))
      object.append("error_bound", .double(report.errorBound))
    } else {
      object.append("degree", .null)
      object.append("rank", .null)
      object.append("error_bound", .null)
    }
    object.append("predicted_exact_seconds", .double(regime.predictedExactSeconds))
    object.append("predicted_poly_seconds", regime.predictedPolynomialSeconds.map { .double($0) } ?? .null)
    object.append("crossover_length", regime.crossoverLength.map { .double($0) } ?? .null)
    object.append("cost_model", .string(regime.costModel))
    object.append("reason", .string(regime.reason))
  }
}
