import Foundation

/// The Float64 reference of the layer: every matrix materialised (P is L×L), written for clarity
/// and used as the oracle of the fast paths; itself checked against central finite differences
/// (tests). It covers every feature: biases, RoPE, causal and padding masks, rsLoRA, dZ and dX.
enum ReferenceAttention {
  /// The longest sequence the reference accepts: it holds P and dS as L×L Float64 matrices,
  /// 2·L²·8 bytes (4.3 GB at L = 16384).
  static let maximumLength = 16384

  /// The adapters in Float64, so that a loss can be evaluated at perturbed adapters.
  typealias Adapters = [Projection: (a: [Double], b: [Double])]

  /// The result of one evaluation: Z [N, L, D], lse [N, H, L], and, given dZ, the gradients.
  struct Evaluation {
    var output: [Double]
    var logSumExp: [Double]
    var adapterGradients: Adapters
    var inputGradient: [Double]
  }

  /// The layer's adapters widened to Float64.
  static func adapters(of layer: AttentionLayer) -> Adapters {
    layer.adapters.mapValues { (a: $0.a.scalars.map(Double.init), b: $0.b.scalars.map(Double.init)) }
  }

  /// Z and lse of the layer at `inputs` ([N, L, D] Float64) with the given adapters (the layer's
  /// own when nil) and, given `upstream` dZ, ∂⟨Z, dZ⟩ with respect to every adapter and to X.
  static func evaluate(
    _ layer: AttentionLayer, inputs x: [Double], sequences n: Int, keyLengths: [Int]?,
    adapters given: Adapters? = nil, upstream: [Double]? = nil
  ) -> Evaluation {
    let d = layer.modelWidth, l = x.count / (n * d), heads = layer.heads, h = layer.headWidth
    let beta = layer.beta, s = layer.loraScale
    let adapters = given ?? Self.adapters(of: layer)
    let weights = effectiveWeights(layer, adapters: adapters)
    var result = Evaluation(
      output: [Double](repeating: 0, count: n * l * d), logSumExp: [Double](repeating: 0, count: n * heads * l),
      adapterGradients: adapters.mapValues { (a: [Double](repeating: 0, count: $0.a.count), b: [Double](repeating: 0, count: $0.b.count)) },
      inputGradient: [Double](repeating: 0, count: upstream == nil ? 0 : n * l * d))
    for sequence in 0..<n {
      let xs = Array(x[(sequence * l * d)..<((sequence + 1) * l * d)])
      let (q, k, v) = projections(layer, rows: xs, weights: weights)
      let visible = keyLengths?[sequence] ?? l
      var dQ = [Double](repeating: 0, count: l * d), dK = dQ, dV = dQ
      for head in 0..<heads {
        let c0 = head * h
        let (p, lse) = probabilities(layer, q: q, k: k, head: head, length: l, visible: visible)
        for i in 0..<l { result.logSumExp[(sequence * heads + head) * l + i] = lse[i] }
        for i in 0..<l { for c in 0..<h {
          var z = 0.0
          for j in 0..<l { z += p[i * l + j] * v[j * d + c0 + c] }
          result.output[(sequence * l + i) * d + c0 + c] = z
        } }
        guard let upstream else { continue }
        let dO = { (i: Int, c: Int) in upstream[(sequence * l + i) * d + c0 + c] }
        // dV = Pᵀ dO;  dP = dO Vᵀ;  dS = P ∘ (dP − rowsum(P ∘ dP));  dQ = β dS K;  dK = β dSᵀ Q.
        for j in 0..<l { for c in 0..<h {
          var sum = 0.0
          for i in 0..<l { sum += p[i * l + j] * dO(i, c) }
          dV[j * d + c0 + c] = sum
        } }
        var dS = [Double](repeating: 0, count: l * l)
        for i in 0..<l {
          var rowDot = 0.0
          for j in 0..<l {
            var dp = 0.0
            for c in 0..<h { dp += dO(i, c) * v[j * d + c0 + c] }
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
      guard upstream != nil else { continue }
      if let theta = layer.ropeTheta {
        dQ = rotate(dQ, length: l, width: d, headWidth: h, theta: theta, inverse: true)
        dK = rotate(dK, length: l, width: d, headWidth: h, theta: theta, inverse: true)
      }
      // dX = dQ W_q + dK W_k + dV W_v;  ∂A_μ = s (dμ B_μ)ᵀ X;  ∂B_μ = s dμᵀ (X A_μᵀ).
      let gradientOf: [Projection: [Double]] = [.query: dQ, .key: dK, .value: dV]
      for projection in Projection.allCases {
        let dmu = gradientOf[projection]!, w = weights[projection]!
        for i in 0..<l { for c in 0..<d {
          var sum = 0.0
          for o in 0..<d { sum += dmu[i * d + o] * w[o * d + c] }
          result.inputGradient[(sequence * l + i) * d + c] += sum
        } }
      }
      for (projection, (a, b)) in adapters {
        let dmu = gradientOf[projection]!, r = a.count / d
        var pair = result.adapterGradients[projection]!
        for i in 0..<l {
          for t in 0..<r {
            var u = 0.0, xa = 0.0
            for o in 0..<d { u += dmu[i * d + o] * b[o * r + t]; xa += xs[i * d + o] * a[t * d + o] }
            for c in 0..<d {
              pair.a[t * d + c] += s * u * xs[i * d + c]
              pair.b[c * r + t] += s * dmu[i * d + c] * xa
            }
          }
        }
        result.adapterGradients[projection] = pair
      }
    }
    return result
  }

  /// W_μ = W*_μ + s·B_μ A_μ in Float64 at the given adapters.
  static func effectiveWeights(_ layer: AttentionLayer, adapters: Adapters) -> [Projection: [Double]] {
    let d = layer.modelWidth, s = layer.loraScale
    var weights: [Projection: [Double]] = [:]
    for projection in Projection.allCases {
      var w = layer.frozenWeights[projection]!.scalars.map(Double.init)
      if let (a, b) = adapters[projection] {
        let r = a.count / d
        for o in 0..<d { for i in 0..<d {
          var sum = 0.0
          for t in 0..<r { sum += b[o * r + t] * a[t * d + i] }
          w[o * d + i] += s * sum
        } }
      }
      weights[projection] = w
    }
    return weights
  }

  /// Q, K (both after the biases and RoPE) and V of one sequence's rows [L, D].
  static func projections(
    _ layer: AttentionLayer, rows xs: [Double], weights: [Projection: [Double]]
  ) -> (q: [Double], k: [Double], v: [Double]) {
    let d = layer.modelWidth, l = xs.count / d
    func project(_ projection: Projection) -> [Double] {
      var out = matmulTransposed(xs, weights[projection]!, rows: l, width: d)
      if let bias = layer.biases[projection] {
        for i in 0..<l { for o in 0..<d { out[i * d + o] += Double(bias.scalars[o]) } }
      }
      return out
    }
    var q = project(.query), k = project(.key)
    if let theta = layer.ropeTheta {
      q = rotate(q, length: l, width: d, headWidth: layer.headWidth, theta: theta, inverse: false)
      k = rotate(k, length: l, width: d, headWidth: layer.headWidth, theta: theta, inverse: false)
    }
    return (q, k, project(.value))
  }

  /// P = softmax_rows(β Q_j K_jᵀ) of one head over the visible keys (j < visible, and j ≤ i when
  /// causal), materialised L×L, and the log-sum-exp of each row.
  static func probabilities(
    _ layer: AttentionLayer, q: [Double], k: [Double], head: Int, length l: Int, visible: Int
  ) -> (p: [Double], lse: [Double]) {
    let d = layer.modelWidth, h = layer.headWidth, c0 = head * h
    var p = [Double](repeating: 0, count: l * l), lse = [Double](repeating: 0, count: l)
    for i in 0..<l {
      let seen = min(visible, layer.causal ? i + 1 : l)
      var rowMax = -Double.infinity
      for j in 0..<seen {
        var dot = 0.0
        for c in 0..<h { dot += q[i * d + c0 + c] * k[j * d + c0 + c] }
        p[i * l + j] = layer.beta * dot
        rowMax = max(rowMax, p[i * l + j])
      }
      var normaliser = 0.0
      for j in 0..<seen { p[i * l + j] = exp(p[i * l + j] - rowMax); normaliser += p[i * l + j] }
      for j in 0..<seen { p[i * l + j] /= normaliser }
      lse[i] = rowMax + log(normaliser)
    }
    return (p, lse)
  }

  /// X Wᵀ of one sequence in Float64: x is [L, D] row-major, w is [D, D] as [out, in].
  static func matmulTransposed(_ x: [Double], _ w: [Double], rows l: Int, width d: Int) -> [Double] {
    var out = [Double](repeating: 0, count: l * d)
    for i in 0..<l { for o in 0..<d {
      var sum = 0.0
      for c in 0..<d { sum += x[i * d + c] * w[o * d + c] }
      out[i * d + o] = sum
    } }
    return out
  }

  /// RoPE (Hugging Face Llama: θ_t = p·base^(−2t/h), rotate_half) on every head of [L, D] rows,
  /// or its inverse (the transpose, for gradients).
  static func rotate(_ x: [Double], length l: Int, width d: Int, headWidth h: Int, theta: Double, inverse: Bool) -> [Double] {
    var out = x
    let half = h / 2
    for i in 0..<l {
      for t in 0..<half {
        let angle = Double(i) * pow(theta, -Double(2 * t) / Double(h))
        let c = cos(angle), s = inverse ? -sin(angle) : sin(angle)
        for head in 0..<(d / h) {
          let a = x[i * d + head * h + t], b = x[i * d + head * h + t + half]
          out[i * d + head * h + t] = a * c - b * s
          out[i * d + head * h + t + half] = b * c + a * s
        }
      }
    }
    return out
  }
}
