import Foundation

extension FlashAttention {
  /// The absolute rounding floor of the exact path's adapter gradients, entry by entry, from the
  /// cancellation in dS = P ∘ (dP − δ), in Float64 (materialises one row of P at a time, O(N·H·L²·h)
  /// like the reference: meant for tests and audits, not for long sequences).
  ///
  /// The backward pass takes dP_ij = dO_i·V_j (a Float32 GEMM) and δ_i = dO_i·O_i (saved by the
  /// forward pass, O_i itself summed over L keys). When the softmax is saturated (one key holds
  /// nearly all the weight, or L = 1) the two agree to the last bits and the true dS, hence the
  /// true ∂Q and ∂K, are tiny; the computed difference keeps the rounding of both,
  /// |Δ(dP_ij − δ_i)| ≤ γ·m_i with m_i = Σ_c |dO_ic|·max_j |V_jc| and γ = 4u·(2h + L)
  /// (γₙ of the h-term dot products and of the L-term sum behind O, with a factor 4 of margin).
  /// That error reaches the gradients through
  /// |Δ∂Q_ic| ≤ β γ m_i Σ_j P_ij |K_jc|,  |Δ∂K_jc| ≤ β γ Σ_i P_ij m_i |Q_ic|,
  /// |Δ∂A_μ[t, c]| ≤ s Σ_i (Σ_o |Δdμ_io| |B_μ[o, t]|) |X_ic|,  |Δ∂B_μ[c, t]| ≤ s Σ_i |Δdμ_ic| |(X A_μᵀ)_it|.
  /// No relative tolerance covers it when the true gradient underflows it: FlashAttention-2 in
  /// Float32 (and PyTorch's fused CPU kernel) shares the property. The value adapters do not pass
  /// through dS and have no floor (their entries are zero here).
  public static func cancellationFloor(_ problem: AttentionProblem) -> [Projection: (a: [Double], b: [Double])] {
    let n = problem.batchCount, l = problem.sequenceLength, d = problem.modelWidth
    let heads = problem.heads, h = problem.headWidth, r = problem.rank
    let beta = problem.beta, s = problem.loraScale
    let gamma = 4 * 0x1p-24 * Double(2 * h + l)
    let weights = Dictionary(uniqueKeysWithValues: Projection.allCases.map { ($0, problem.effectiveWeight($0)) })
    var floors: [Projection: (a: [Double], b: [Double])] = [:]
    for projection in problem.adaptedProjections {
      floors[projection] = (a: [Double](repeating: 0, count: r * d), b: [Double](repeating: 0, count: d * r))
    }
    for sequence in 0..<n {
      let rows = (sequence * l * d)..<((sequence + 1) * l * d)
      let x = problem.inputs.scalars[rows].map(Double.init)
      let y = problem.targets.scalars[rows].map(Double.init)
      let q = ReferenceAttention.project(x, weights[.query]!, length: l, width: d)
      let k = ReferenceAttention.project(x, weights[.key]!, length: l, width: d)
      let v = ReferenceAttention.project(x, weights[.value]!, length: l, width: d)
      var queryFloor = [Double](repeating: 0, count: l * d), keyFloor = queryFloor
      var row = [Double](repeating: 0, count: l)
      for head in 0..<heads {
        let c0 = head * h
        var largestValue = [Double](repeating: 0, count: h)
        for j in 0..<l { for c in 0..<h { largestValue[c] = max(largestValue[c], abs(v[j * d + c0 + c])) } }
        for i in 0..<l {
          // Row i of P = softmax(β q_i Kᵀ), then O_i, dO_i = O_i − Y_i and m_i.
          var rowMax = -Double.infinity
          for j in 0..<l {
            var dot = 0.0
            for c in 0..<h { dot += q[i * d + c0 + c] * k[j * d + c0 + c] }
            row[j] = beta * dot
            rowMax = max(rowMax, row[j])
          }
          var normaliser = 0.0
          for j in 0..<l { row[j] = exp(row[j] - rowMax); normaliser += row[j] }
          var magnitude = 0.0
          for c in 0..<h {
            var output = 0.0
            for j in 0..<l { output += row[j] / normaliser * v[j * d + c0 + c] }
            magnitude += abs(output - y[i * d + c0 + c]) * largestValue[c]
          }
          let differenceError = beta * gamma * magnitude
          for j in 0..<l {
            let p = row[j] / normaliser
            for c in 0..<h {
              queryFloor[i * d + c0 + c] += differenceError * p * abs(k[j * d + c0 + c])
              keyFloor[j * d + c0 + c] += differenceError * p * abs(q[i * d + c0 + c])
            }
          }
        }
      }
      for projection in problem.adaptedProjections where projection != .value {
        let dFloor = projection == .query ? queryFloor : keyFloor
        let adapter = problem.adapters[projection]!
        let a = adapter.a.scalars.map(Double.init), b = adapter.b.scalars.map(Double.init)
        var floor = floors[projection]!
        for i in 0..<l {
          for t in 0..<r {
            var through = 0.0, xa = 0.0
            for o in 0..<d {
              through += dFloor[i * d + o] * abs(b[o * r + t])
              xa += x[i * d + o] * a[t * d + o]
            }
            for c in 0..<d {
              floor.a[t * d + c] += abs(s) * through * abs(x[i * d + c])
              floor.b[c * r + t] += abs(s) * dFloor[i * d + c] * abs(xa)
            }
          }
        }
        floors[projection] = floor
      }
    }
    return floors
  }
}
