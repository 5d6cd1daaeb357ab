import Foundation

/// The rounding model of the exact path in Float32, against which the tests hold it to the
/// Float64 reference, entry by entry: |g̃ − g| ≤ relative·max|g| + floor (Docs/Theory.md).
enum RoundingModel {
  /// u = 2⁻²⁴, the unit roundoff of Float32.
  static let unitRoundoff = 0x1p-24

  /// The relative term, 8·u·(1 + log₂ L) of each gradient's largest entry: every output is a
  /// short chain of Float32 products (projection, scores, softmax, the gradient GEMMs, the
  /// adapter products) whose accumulations are blocked (64–256 keys, 256 rows, D columns) and
  /// combined pairwise or in Float64, so the error grows like the depth of the chain, not like L.
  /// Measured (2026-12-02, L = 16 … 1024, D = 16 … 64, every layer feature): 6–32 u, 0.15–0.36 of this.
  static func relativeTolerance(_ problem: AttentionProblem) -> Double {
    8 * unitRoundoff * (1 + log2(Double(max(problem.sequenceLength, 1))))
  }

  /// u_b = 2⁻⁸, the unit roundoff of bfloat16.
  static let bfloat16Roundoff = 0x1p-8

  /// ε_exp = 2⁻¹⁷, the relative error the model takes for the bf16 tiles' exp (lgk_exp_bf16: one
  /// ln2 and a degree-4 polynomial) on [−64, 64]; measured (2026-12-03, `loragrad-bench exp`, every
  /// Float32 there) at 2^−18.4 with FMA and 2^−17.7 in portable C. Below −64, P < 10⁻²⁷ and its
  /// relative error does not reach the gradients' largest entries.
  static let bfloat16TileExpError = 0x1p-17

  /// The relative term with bf16 products (`ExactPrecision.bfloat16`): u_b·(3 + A/√h) + 2ε_exp of
  /// each gradient's largest entry, plus the Float32 term, with A = max over heads of
  /// max_i ‖q̂_i‖ · max_j ‖k̂_j‖ (q̂ = √β·Q, k̂ = √β·K, uncentred). Rounding P, V, dO and dS to
  /// bf16 costs u_b per operand along each chain (the 3); rounding q̂ and k̂ moves logit (i, j) by
  /// Σ_c of h independent roundings of q̂_ic k̂_jc, so by about u_b·A/√h (at most 2u_b·A, when
  /// every rounding has the sign of the worst case), and P by the same relative amount. The tiles'
  /// exp (ε_exp = `bfloat16TileExpError`) moves P directly and through the row sums ℓ. A model,
  /// not a bound: measured (2026-12-03, every layer feature, L = 1 … 151, A = 2 … 17, every
  /// instruction set) at 0.09–0.33 of it, and at 0.08–0.33 with the tiles' own exp.
  static func relativeTolerance(_ problem: AttentionProblem, precision: ExactPrecision) -> Double {
    guard precision == .bfloat16 else { return relativeTolerance(problem) }
    let scale = largestLogitScale(problem) / Double(problem.layer.headWidth).squareRoot()
    return bfloat16Roundoff * (3 + scale) + 2 * bfloat16TileExpError + relativeTolerance(problem)
  }

  /// A = max over sequences and heads of max_i ‖q̂_i‖ · max_j ‖k̂_j‖, in Float64 (O(N·L·D²)).
  static func largestLogitScale(_ problem: AttentionProblem) -> Double {
    let layer = problem.layer
    let n = problem.batchCount, l = problem.sequenceLength, d = layer.modelWidth, h = layer.headWidth
    let x = problem.inputs.scalars.map(Double.init)
    let weights = ReferenceAttention.effectiveWeights(layer, adapters: ReferenceAttention.adapters(of: layer))
    var largest = 0.0
    for sequence in 0..<n {
      let (q, k, _) = ReferenceAttention.projections(layer, rows: Array(x[(sequence * l * d)..<((sequence + 1) * l * d)]), weights: weights)
      let visible = problem.keyLengths?[sequence] ?? l
      for head in 0..<layer.heads {
        func largestNorm(_ m: [Double], rows: Int) -> Double {
          (0..<rows).map { i in (0..<h).reduce(0.0) { $0 + m[i * d + head * h + $1] * m[i * d + head * h + $1] }.squareRoot() }.max() ?? 0
        }
        largest = max(largest, layer.beta * largestNorm(q, rows: l) * largestNorm(k, rows: visible))
      }
    }
    return largest
  }

  /// The absolute rounding floor of the exact path's gradients, entry by entry, from the
  /// cancellation in dS = P ∘ (dP − δ), in Float64 (materialises one L×L P per head, O(N·H·L²·h)
  /// like the reference: for tests and audits).
  ///
  /// The backward pass takes dP_ij = dO_i·V_j (a Float32 GEMM) and δ_i = ⟨dO_i, O_i⟩ (O_i itself
  /// summed over L keys). When the softmax is saturated (one key holds nearly all the weight, or
  /// L = 1) the two agree to the last bits and the true dS, hence ∂Q and ∂K, are tiny; the
  /// computed difference keeps the rounding of both, |Δ(dP_ij − δ_i)| ≤ γ·m_i with
  /// m_i = Σ_c |dO_ic|·max_j |V_jc| and γ = 4u·(2h + L). It reaches the gradients through
  /// |ΔdQ_ic| ≤ β γ m_i Σ_j P_ij |K_jc| and |ΔdK_jc| ≤ β γ Σ_i P_ij m_i |Q_ic| (RoPE: a rotation
  /// mixes the two halves, |R⁻¹x|_t ≤ |x_t| + |x_{t±h/2}|), then the adapter products and dX with
  /// absolute values. The value gradients do not pass through dS and have no floor. Every Float32
  /// FlashAttention (PyTorch's fused CPU kernel too) shares this floor.
  ///
  /// With bf16 products, dP = dO Vᵀ takes both operands rounded (2u_b of Σ_c |dO_ic||V_jc|) and δ
  /// takes the bf16 forward's O (u_b of Σ_c |dO_ic| max_j |V_jc|): γ grows by 4u_b.
  static func cancellationFloor(_ problem: AttentionProblem, precision: ExactPrecision = .float32) -> [TensorRole: [Double]] {
    let layer = problem.layer
    let n = problem.batchCount, l = problem.sequenceLength, d = layer.modelWidth
    let heads = layer.heads, h = layer.headWidth, r = layer.loraRank, s = abs(layer.loraScale)
    let gamma = 4 * unitRoundoff * Double(2 * h + l) + (precision == .bfloat16 ? 4 * bfloat16Roundoff : 0)
    let x = problem.inputs.scalars.map(Double.init)
    let adapters = ReferenceAttention.adapters(of: layer)
    let weights = ReferenceAttention.effectiveWeights(layer, adapters: adapters)
    let evaluation = ReferenceAttention.evaluate(layer, inputs: x, sequences: n, keyLengths: problem.keyLengths)
    var floors: [TensorRole: [Double]] = [.inputs: [Double](repeating: 0, count: n * l * d)]
    for projection in layer.adaptedProjections {
      floors[.adapterA(projection)] = [Double](repeating: 0, count: r * d)
      floors[.adapterB(projection)] = [Double](repeating: 0, count: d * r)
    }
    for sequence in 0..<n {
      let rows = (sequence * l * d)..<((sequence + 1) * l * d)
      let xs = Array(x[rows])
      let (q, k, v) = ReferenceAttention.projections(layer, rows: xs, weights: weights)
      let upstream: [Double]
      switch problem.objective {
      case .squaredError(let targets): upstream = rows.map { evaluation.output[$0] - Double(targets.scalars[$0]) }
      case .upstream(let dz): upstream = dz.scalars[rows].map(Double.init)
      }
      var queryFloor = [Double](repeating: 0, count: l * d), keyFloor = queryFloor
      let visible = problem.keyLengths?[sequence] ?? l
      for head in 0..<heads {
        let c0 = head * h
        let (p, _) = ReferenceAttention.probabilities(layer, q: q, k: k, head: head, length: l, visible: visible)
        var largestValue = [Double](repeating: 0, count: h)
        for j in 0..<visible { for c in 0..<h { largestValue[c] = max(largestValue[c], abs(v[j * d + c0 + c])) } }
        for i in 0..<l {
          var magnitude = 0.0
          for c in 0..<h { magnitude += abs(upstream[i * d + c0 + c]) * largestValue[c] }
          let differenceError = layer.beta * gamma * magnitude
          for j in 0..<l where p[i * l + j] > 0 {
            for c in 0..<h {
              queryFloor[i * d + c0 + c] += differenceError * p[i * l + j] * abs(k[j * d + c0 + c])
              keyFloor[j * d + c0 + c] += differenceError * p[i * l + j] * abs(q[i * d + c0 + c])
            }
          }
        }
      }
      if layer.ropeTheta != nil {
        queryFloor = mixedHalves(queryFloor, width: d, headWidth: h)
        keyFloor = mixedHalves(keyFloor, width: d, headWidth: h)
      }
      let floorOf: [Projection: [Double]] = [.query: queryFloor, .key: keyFloor]
      for (projection, dFloor) in floorOf {
        let w = weights[projection]!
        for i in 0..<l { for c in 0..<d {
          var sum = 0.0
          for o in 0..<d { sum += dFloor[i * d + o] * abs(w[o * d + c]) }
          floors[.inputs]![(sequence * l + i) * d + c] += sum
        } }
        guard let (a, b) = adapters[projection] else { continue }
        var floorA = floors[.adapterA(projection)]!, floorB = floors[.adapterB(projection)]!
        for i in 0..<l {
          for t in 0..<r {
            var through = 0.0, xa = 0.0
            for o in 0..<d {
              through += dFloor[i * d + o] * abs(b[o * r + t])
              xa += xs[i * d + o] * a[t * d + o]
            }
            for c in 0..<d {
              floorA[t * d + c] += s * through * abs(xs[i * d + c])
              floorB[c * r + t] += s * dFloor[i * d + c] * abs(xa)
            }
          }
        }
        floors[.adapterA(projection)] = floorA
        floors[.adapterB(projection)] = floorB
      }
    }
    return floors
  }

  /// |x_t| + |x_{t+h/2}| (and the same for the other half), per head: a bound on |R x| for any
  /// rotation R of the pairs (t, t + h/2).
  private static func mixedHalves(_ x: [Double], width d: Int, headWidth h: Int) -> [Double] {
    var out = x
    let half = h / 2
    for row in 0..<(x.count / d) {
      for head in 0..<(d / h) {
        for t in 0..<half {
          let a = row * d + head * h + t
          out[a] = x[a] + x[a + half]
          out[a + half] = x[a] + x[a + half]
        }
      }
    }
    return out
  }
}
