import CLoRAGradKernels

/// The almost-linear path (SPEC §3; phases "poly key sums", "poly scan", "poly query forward",
/// "poly query backward", "poly key backward"): exp(q̂·k̃) as φ_b(q̂)·ψ(k̃) through monomial
/// features of the normalised queries and centred keys, and every gradient term as a chain of
/// low-rank factors; no L×L matrix and no L×(k·h) factor ever exists.
enum PolynomialAttention {
  /// O (head-major) and lse per pair and row (with a shard: of its rows, zero elsewhere).
  static func forward(
    _ view: HeadView, statistics: PolynomialStatistics, plan: PolynomialPlan, shard: SequenceShard? = nil, parallelism: Parallelism
  ) throws -> (output: FloatBuffer, logSumExp: FloatBuffer) {
    let geometry = shard?.geometry(plan.geometry) ?? plan.geometry, width = geometry.forward_key_width
    let keySums = try keySums(view, statistics: statistics, plan: plan, geometry: geometry, width: width, shard: shard, parallelism: parallelism)
    // With a shard the other ranks' rows are never written: zeroed, and never touched here.
    let output = try FloatBuffer(count: view.bufferFloats, what: "O", zeroed: shard != nil)
    let lse = try view.rowBuffer("lse")
    var parameters = queryParameters(view, statistics: statistics, plan: plan, geometry: geometry, keySums: keySums, width: width)
    parameters.o = output.base
    parameters.lse = lse.base
    let retained = view.buffers + plan.buffers(statistics) + [keySums, output, lse]
    try parallelism.run(Phase(parameters, retaining: retained, describe: lgk_poly_query_forward_phase))
    return (output, lse)
  }

  /// dq̂, dk̂, dV from dO (O and δ are recomputed from the same P̃), and, when `bounds`, entrywise
  /// bounds on their errors from the bound on P̃ (Docs/Theory.md, "Bounds on what the user gets").
  /// With a shard: the gradients of its rows, zero elsewhere.
  static func backward(
    _ view: HeadView, statistics: PolynomialStatistics, plan: PolynomialPlan, upstream dO: FloatBuffer, bounds: Bool,
    shard: SequenceShard? = nil, parallelism: Parallelism
  ) throws -> (gradients: HeadGradients, bounds: HeadGradients?) {
    let geometry = shard?.geometry(plan.geometry) ?? plan.geometry
    let queryWidth = bounds ? geometry.bound_query_width : geometry.query_width
    let keySums = try keySums(
      view, statistics: statistics, plan: plan, geometry: geometry, width: geometry.key_width, shard: shard, parallelism: parallelism)
    let querySums = try FloatBuffer(
      count: view.pairs * Int(geometry.chunks * geometry.rank * queryWidth), what: "query sums", zeroed: false)
    // Zeroed: with a shard the other ranks' rows are never written (or touched) here.
    let dQ = try view.headBuffer("dq̂"), dK = try view.headBuffer("dk̂"), dV = try view.headBuffer("dV")
    let limits = try bounds ? HeadGradients(dQ: view.headBuffer("|Δdq̂|"), dK: view.headBuffer("|Δdk̂|"), dV: view.headBuffer("|ΔdV|")) : nil
    var query = queryParameters(
      view, statistics: statistics, plan: plan, geometry: geometry, keySums: keySums, width: geometry.key_width, bounds: bounds)
    query.query_width = queryWidth
    query.d_o = dO.pointer
    query.d_q = dQ.base
    query.d_k = dK.base
    query.d_v = dV.base
    query.query_sums = querySums.base
    query.d_q_bound = limits?.dQ.base
    query.d_k_bound = limits?.dK.base
    query.d_v_bound = limits?.dV.base
    let planBuffers = view.buffers + plan.buffers(statistics)
    let outputs: [AnyObject] = [dQ, dK, dV] + (limits.map { [$0.dQ, $0.dK, $0.dV] } ?? [])
    try parallelism.run(Phase(query, retaining: planBuffers + [keySums, dO, querySums] + outputs, describe: lgk_poly_query_backward_phase))
    try scan(view, geometry: geometry, sums: querySums, width: queryWidth, mode: view.causal ? lgk_scan_suffix : lgk_scan_total,
             shard: shard, parallelism: parallelism)
    let keys = lgk_poly_key_backward_params(
      ops: view.operations, heads: view.kernelView, geometry: geometry, plan: plan.kernelPlan(statistics, bounds: bounds),
      query_sums: querySums.pointer, query_width: queryWidth, d_k: dK.base, d_v: dV.base, d_k_bound: limits?.dK.base,
      d_v_bound: limits?.dV.base)
    try parallelism.run(Phase(keys, retaining: planBuffers + [querySums] + outputs, describe: lgk_poly_key_backward_phase))
    return (HeadGradients(dQ: dQ, dK: dK, dV: dV), limits)
  }

  /// The query phases' parameters with the inputs both passes share filled in.
  private static func queryParameters(
    _ view: HeadView, statistics: PolynomialStatistics, plan: PolynomialPlan, geometry: lgk_poly_geometry, keySums: FloatBuffer,
    width: Int64, bounds: Bool = false
  ) -> lgk_poly_query_params {
    var parameters = lgk_poly_query_params()
    parameters.ops = view.operations
    parameters.heads = view.kernelView
    parameters.geometry = geometry
    parameters.plan = plan.kernelPlan(statistics, bounds: bounds)
    parameters.key_sums = keySums.pointer
    parameters.key_width = width
    return parameters
  }

  /// The key sums of every chunk with `width` payload columns, scanned: the total in chunk 0, or
  /// (causal) each chunk's exclusive prefix.
  private static func keySums(
    _ view: HeadView, statistics: PolynomialStatistics, plan: PolynomialPlan, geometry: lgk_poly_geometry, width: Int64,
    shard: SequenceShard?, parallelism: Parallelism
  ) throws -> FloatBuffer {
    let sums = try FloatBuffer(count: view.pairs * Int(geometry.chunks * geometry.rank * width), what: "key sums", zeroed: false)
    let parameters = lgk_poly_key_sums_params(
      ops: view.operations, heads: view.kernelView, geometry: geometry, plan: plan.kernelPlan(statistics), width: width, sums: sums.base)
    try parallelism.run(Phase(parameters, retaining: view.buffers + plan.buffers(statistics) + [sums], describe: lgk_poly_key_sums_phase))
    try scan(view, geometry: geometry, sums: sums, width: width, mode: view.causal ? lgk_scan_prefix : lgk_scan_total,
             shard: shard, parallelism: parallelism)
    return sums
  }

  /// Combines the chunk sums of every pair in chunk order (phase "poly scan"); with a shard, of
  /// every rank: the total is the sum of the ranks' totals in rank order, and a causal prefix
  /// (suffix) of an own chunk adds the totals of the ranks before (after) this one. Each rank's
  /// scan is rounded to Float32 once as in one process; the ranks' parts are added in Float64 and
  /// rounded once more (so a split differs from one process by that rounding).
  private static func scan(
    _ view: HeadView, geometry: lgk_poly_geometry, sums: FloatBuffer, width: Int64, mode: lgk_scan_mode, shard: SequenceShard?,
    parallelism: Parallelism
  ) throws {
    let block = Int(geometry.rank * width), chunks = Int(geometry.chunks), pairs = view.pairs
    // This rank's totals (its own chunks; the others are zero here), before a prefix or suffix scan overwrites them.
    var totals: [Double] = []
    if let shard, shard.ranks > 1, mode != lgk_scan_total {
      totals = [Double](repeating: 0, count: pairs * block)
      for pair in 0..<pairs {
        for chunk in Int(geometry.own_begin)..<Int(geometry.own_end) {
          let base = (pair * chunks + chunk) * block
          for t in 0..<block { totals[pair * block + t] += Double(sums.base[base + t]) }
        }
      }
    }
    let parameters = lgk_poly_scan_params(
      pairs: Int64(pairs), chunks: geometry.chunks, rank: geometry.rank, width: width, mode: mode, sums: sums.base)
    try parallelism.run(Phase(parameters, retaining: [sums], describe: lgk_poly_scan_phase))
    guard let shard, shard.ranks > 1 else { return }
    if mode == lgk_scan_total {  // chunk 0 holds this rank's total
      var local = [Double](repeating: 0, count: pairs * block)
      for pair in 0..<pairs { for t in 0..<block { local[pair * block + t] = Double(sums.base[pair * chunks * block + t]) } }
      let all = try shard.gather(local)
      for pair in 0..<pairs {
        for t in 0..<block {
          var total = 0.0
          for part in all { total += part[pair * block + t] }
          sums.base[pair * chunks * block + t] = Float(total)
        }
      }
      return
    }
    let all = try shard.gather(totals)
    let others = mode == lgk_scan_prefix ? Array(all[..<shard.rank]) : Array(all[(shard.rank + 1)...])
    guard !others.isEmpty else { return }
    for pair in 0..<pairs {
      for chunk in Int(geometry.own_begin)..<Int(geometry.own_end) {
        let base = (pair * chunks + chunk) * block
        for t in 0..<block {
          var value = Double(sums.base[base + t])
          for part in others { value += part[pair * block + t] }
          sums.base[base + t] = Float(value)
        }
      }
    }
  }
}
