import Foundation

/// The Float64 reference: LoRA attention written for clarity, every matrix materialised (P is
/// L×L), used by the tests as the oracle for the fast paths and checked itself against central
/// finite differences.
public enum ReferenceAttention {
  /// The longest sequence the reference accepts: it holds P and dS as L×L Float64 matrices,
  /// 2·L²·8 bytes (4.3 GB at L = 16384).
  public static let maximumLength = 16384

  /// The loss and adapter gradients of a problem, in Float64, rounded to Float32 tensors.
  public static func gradients(_ problem: AttentionProblem) -> Gradients {
    let parameters = AdapterParameters(problem)
    let (loss, gradients) = lossAndGradients(problem, adapters: parameters)
    var result: [Projection: LoRAAdapter] = [:]
    for (projection, pair) in gradients {
      let r = problem.rank, d = problem.modelWidth
      result[projection] = LoRAAdapter(
        a: Tensor(checkedShape: [r, d], scalars: pair.a.map(Float.init)),
        b: Tensor(checkedShape: [d, r], scalars: pair.b.map(Float.init)))
    }
    return Gradients(loss: loss, adapters: result)
  }

  /// The adapter matrices of a problem in Float64, so that the loss can be evaluated at
  /// perturbed adapters (central finite differences) without rounding to Float32.
  public struct AdapterParameters: Sendable {
    /// A_μ [r, D] and B_μ [D, r] per adapted projection, row-major.
    public var values: [Projection: (a: [Double], b: [Double])]

    /// The problem's own adapters, widened to Float64.
    public init(_ problem: AttentionProblem) {
      values = problem.adapters.mapValues { (a: $0.a.scalars.map(Double.init), b: $0.b.scalars.map(Double.init)) }
    }
  }

  /// The loss at the given adapters (the problem's frozen weights, inputs and targets).
  public static func loss(_ problem: AttentionProblem, adapters: AdapterParameters) -> Double {
    lossAndGradients(problem, adapters: adapters, wantGradients: false).loss
  }

  /// The loss and ∂loss/∂A_μ, ∂loss/∂B_μ (row-major Float64) at the given adapters.
  public static func lossAndGradients(
    _ problem: AttentionProblem, adapters: AdapterParameters, wantGradients: Bool = true
  ) -> (loss: Double, gradients: [Projection: (a: [Double], b: [Double])]) {
    let n = problem.batchCount, l = problem.sequenceLength, d = problem.modelWidth
    let heads = problem.heads, h = problem.headWidth, r = problem.rank
    let beta = problem.beta, s = problem.loraScale
    // W_μ = W*_μ + s B_μ A_μ  (D×D, [out, in]).
    var weights: [Projection: [Double]] = [:]
    for projection in Projection.allCases {
      var w = problem.frozenWeights[projection]!.scalars.map(Double.init)
      if let (a, b) = adapters.values[projection] {
        for o in 0..<d { for i in 0..<d {
          var sum = 0.0
          for t in 0..<r { sum += b[o * r + t] * a[t * d + i] }
          w[o * d + i] += s * sum
        } }
      }
      weights[projection] = w
    }
    var loss = 0.0
    var gradients: [Projection: (a: [Double], b: [Double])] = [:]
    for projection in adapters.values.keys {
      gradients[projection] = (a: [Double](repeating: 0, count: r * d), b: [Double](repeating: 0, count: d * r))
    }
    for sequence in 0..<n {
      let rows = (sequence * l * d)..<((sequence + 1) * l * d)
      let x: [Double] = problem.inputs.scalars[rows].map(Double.init)
      let y: [Double] = problem.targets.scalars[rows].map(Double.init)
      // Q, K, V = X W_μᵀ  (L×D).
      let q = project(x, weights[.query]!, length: l, width: d)
      let k = project(x, weights[.key]!, length: l, width: d)
      let v = project(x, weights[.value]!, length: l, width: d)
      var dQ = [Double](repeating: 0, count: l * d), dK = dQ, dV = dQ
      for head in 0..<heads {
        let c0 = head * h
        // P = softmax_rows(β Q_j K_jᵀ), materialised.
        var p = [Double](repeating: 0, count: l * l)
        for i in 0..<l {
          var rowMax = -Double.infinity
          for j in 0..<l {
            var dot = 0.0
            for c in 0..<h { dot += q[i * d + c0 + c] * k[j * d + c0 + c] }
            p[i * l + j] = beta * dot
            rowMax = max(rowMax, p[i * l + j])
          }
          var normaliser = 0.0
          for j in 0..<l { p[i * l + j] = exp(p[i * l + j] - rowMax); normaliser += p[i * l + j] }
          for j in 0..<l { p[i * l + j] /= normaliser }
        }
        // Z_j = P V_j, dO = Z_j − Y_j.
        var dO = [Double](repeating: 0, count: l * h)
        for i in 0..<l { for c in 0..<h {
          var z = 0.0
          for j in 0..<l { z += p[i * l + j] * v[j * d + c0 + c] }
          let g = z - y[i * d + c0 + c]
          dO[i * h + c] = g
          loss += 0.5 * g * g
        } }
        guard wantGradients else { continue }
        // dV = Pᵀ dO;  dP = dO Vᵀ;  dS = P ∘ (dP − rowsum(P ∘ dP));  dQ = β dS K;  dK = β dSᵀ Q.
        for j in 0..<l { for c in 0..<h {
          var sum = 0.0
          for i in 0..<l { sum += p[i * l + j] * dO[i * h + c] }
          dV[j * d + c0 + c] = sum
        } }
        var dS = [Double](repeating: 0, count: l * l)
        for i in 0..<l {
          var rowDot = 0.0
          for j in 0..<l {
            var dp = 0.0
            for c in 0..<h { dp += dO[i * h + c] * v[j * d + c0 + c] }
            dS[i * l + j] = dp
            rowDot += p[i * l + j] * dp
          }
          for j in 0..<l { dS[i * l + j] = p[i * l + j] * (dS[i * l + j] - rowDot) }
        }
        for i in 0..<l { for c in 0..<h {
          var sum = 0.0
          for j in 0..<l { sum += dS[i * l + j] * k[j * d + c0 + c] }
          dQ[i * d + c0 + c] = beta * sum
        } }
        for j in 0..<l { for c in 0..<h {
          var sum = 0.0
          for i in 0..<l { sum += dS[i * l + j] * q[i * d + c0 + c] }
          dK[j * d + c0 + c] = beta * sum
        } }
      }
      guard wantGradients else { continue }
      // ∂A_μ = s (dμ B_μ)ᵀ X,  ∂B_μ = s dμᵀ (X A_μᵀ).
      let gradientOf: [Projection: [Double]] = [.query: dQ, .key: dK, .value: dV]
      for (projection, (a, b)) in adapters.values {
        let dmu = gradientOf[projection]!
        var pair = gradients[projection]!
        for i in 0..<l {
          for t in 0..<r {
            var u = 0.0, xa = 0.0
            for o in 0..<d { u += dmu[i * d + o] * b[o * r + t]; xa += x[i * d + o] * a[t * d + o] }
            for c in 0..<d {
              pair.a[t * d + c] += s * u * x[i * d + c]
              pair.b[c * r + t] += s * dmu[i * d + c] * xa
            }
          }
        }
        gradients[projection] = pair
      }
    }
    return (loss, gradients)
  }

  /// X Wᵀ of one sequence in Float64: x is [L, D] row-major, w is [D, D] as [out, in].
  static func project(_ x: [Double], _ w: [Double], length l: Int, width d: Int) -> [Double] {
    var out = [Double](repeating: 0, count: l * d)
    for i in 0..<l { for o in 0..<d {
      var sum = 0.0
      for c in 0..<d { sum += x[i * d + c] * w[o * d + c] }
      out[i * d + o] = sum
    } }
    return out
  }
}
