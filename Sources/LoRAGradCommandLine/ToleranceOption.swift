import LoRAGrad

/// `--tol ε`: the polynomial path's tolerance, a number in (0, 1).
public enum ToleranceOption {
  /// Parses `--tol`, defaulting to 1e-3.
  public static func parse(_ arguments: inout Arguments) throws -> Double {
    try arguments.number("--tol", default: 1e-3, expected: "a number in (0, 1)") { $0 > 0 && $0 < 1 }
  }
}
