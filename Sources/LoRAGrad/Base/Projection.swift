/// One of the three linear maps of attention, W_q, W_k, W_v, each of which may carry a LoRA adapter.
public enum Projection: String, CaseIterable, Comparable, Sendable {
  /// The query map W_q: Q = X W_qᵀ.
  case query = "q"
  /// The key map W_k: K = X W_kᵀ.
  case key = "k"
  /// The value map W_v: V = X W_vᵀ.
  case value = "v"

  /// Orders q < k < v, the order in which files and reports list them.
  public static func < (lhs: Projection, rhs: Projection) -> Bool {
    allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
  }
}

/// A LoRA adapter pair (A, B) in the PEFT layout: A is r×D (`lora_A.weight`), B is D×r (`lora_B.weight`).
/// The same type carries the gradient pair (∂loss/∂A, ∂loss/∂B).
public struct LoRAAdapter: Equatable, Sendable {
  /// The down-projection A ∈ R^{r×D}, or its gradient.
  public var a: Tensor
  /// The up-projection B ∈ R^{D×r}, or its gradient.
  public var b: Tensor

  /// An adapter from its two factors.
  public init(a: Tensor, b: Tensor) {
    self.a = a
    self.b = b
  }
}
