import CLoRAGradABI
@testable import LoRAGrad
@testable import LoRAGradC
import XCTest

/// The C ABI (loragrad.h) called as C calls it: the same bits as the Swift API for every layer
/// feature and method, and a status with a message, never a trap, for every kind of bad input.
final class CABITests: XCTestCase {
  /// A layer description pointing into the problem's arrays (valid while `body` runs).
  private func withDescription<T>(_ layer: AttentionLayer, _ body: (inout lgr_layer_desc) throws -> T) rethrows -> T {
    var desc = lgr_layer_desc()
    lgr_layer_desc_init(&desc)
    desc.width = Int64(layer.modelWidth)
    desc.heads = Int64(layer.heads)
    desc.lora_rank = Int64(layer.loraRank)
    desc.alpha = layer.alpha
    desc.beta = layer.beta
    desc.rope_theta = layer.ropeTheta ?? 0
    desc.use_rslora = layer.useRSLoRA ? 1 : 0
    desc.causal = layer.causal ? 1 : 0
    // Pointers into arrays that outlive the call: copies owned by this frame.
    let arrays = Projection.allCases.map { p in
      (layer.frozenWeights[p]!.scalars, layer.biases[p]?.scalars, layer.adapters[p]?.a.scalars, layer.adapters[p]?.b.scalars)
    }
    var pointers: [UnsafeMutablePointer<Float>] = []
    defer { pointers.forEach { $0.deallocate() } }
    func pin(_ values: [Float]?) -> UnsafePointer<Float>? {
      guard let values else { return nil }
      let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(values.count, 1))
      pointer.initialize(from: values, count: values.count)
      pointers.append(pointer)
      return UnsafePointer(pointer)
    }
    let w = arrays.map { pin($0.0) }, b = arrays.map { pin($0.1) }, a = arrays.map { pin($0.2) }, bt = arrays.map { pin($0.3) }
    desc.weights = (w[0], w[1], w[2])
    desc.biases = (b[0], b[1], b[2])
    desc.lora_a = (a[0], a[1], a[2])
    desc.lora_b = (bt[0], bt[1], bt[2])
    return try body(&desc)
  }

  private func create(_ layer: AttentionLayer) throws -> OpaquePointer {
    try withDescription(layer) { desc in
      var handle: OpaquePointer?
      var error = lgr_error()
      let status = lgr_layer_create(&desc, &handle, &error)
      XCTAssertEqual(status, LGR_OK, message(error))
      return try XCTUnwrap(handle)
    }
  }

  private func message(_ error: lgr_error) -> String {
    withUnsafeBytes(of: error.message) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
  }

  private func options(_ method: lgr_method, backend: lgr_backend = LGR_BACKEND_DISPATCH, threads: Int32 = 2) -> lgr_options {
    var options = lgr_options()
    lgr_options_init(&options)
    options.method = Int32(method.rawValue)
    options.backend = Int32(backend.rawValue)
    options.threads = threads
    return options
  }

  /// forward and backward through the C ABI give the Swift API's bits: each feature alone and all
  /// together, exact (float32 and bf16) and polynomial, with and without dX.
  func testSameBitsAsTheSwiftAPI() throws {
    for features in LayerFeatures.each {
      let problem = try AttentionProblem.synthetic(features, sequences: 2, length: 45, width: 12, heads: 2, loraRank: 3, normBound: 0.5, seed: 71)
      let layer = problem.layer
      let dz = try Tensor(shape: problem.inputs.shape, scalars: problem.inputs.scalars.enumerated().map { Float(($0.offset % 7) - 3) * 0.1 })
      let handle = try create(layer)
      defer { lgr_layer_destroy(handle) }
      let calls = [
        (LGR_METHOD_EXACT, LGR_PRECISION_FLOAT32, AttentionMethod.exact), (LGR_METHOD_EXACT, LGR_PRECISION_BFLOAT16, .exact(.bfloat16)),
        (LGR_METHOD_POLY, LGR_PRECISION_FLOAT32, .polynomial(tolerance: 1e-3)),
      ]
      for (method, precision, swiftMethod) in calls {
        let swiftOptions = ExecutionOptions.dispatch(threads: 2)
        let expected = try layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: swiftMethod, options: swiftOptions)
        let expectedGradients = try layer.backward(problem.inputs, saved: expected, upstream: dz, options: swiftOptions)
        var callOptions = options(method)
        callOptions.precision = Int32(precision.rawValue)
        let (n, l) = (Int64(problem.inputs.shape[0]), Int64(problem.inputs.shape[1]))
        var z = [Float](repeating: .nan, count: problem.inputs.count)
        var lse = [Float](repeating: .nan, count: expected.logSumExp.count)
        var saved: OpaquePointer?
        var error = lgr_error()
        let lengths = problem.keyLengths.map { $0.map(Int64.init) }
        let status = lengths.withOptionalBuffer { lengthPointer in
          lgr_forward(handle, problem.inputs.scalars, n, l, lengthPointer, &callOptions, &z, &lse, &saved, &error)
        }
        XCTAssertEqual(status, LGR_OK, message(error))
        XCTAssertEqual(z, expected.output.scalars, "\(features) \(swiftMethod.name) Z")
        XCTAssertEqual(lse, expected.logSumExp.scalars, "\(features) \(swiftMethod.name) lse")
        defer { lgr_saved_destroy(saved) }
        let r = layer.loraRank, d = layer.modelWidth
        let gradA = Projection.allCases.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: r * d) }
        let gradB = Projection.allCases.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: d * r) }
        defer { (gradA + gradB).forEach { $0.deallocate() } }
        var gradX = [Float](repeating: .nan, count: problem.inputs.count)
        var report: UnsafeMutablePointer<CChar>?
        let a: [UnsafeMutablePointer<Float>?] = gradA, b: [UnsafeMutablePointer<Float>?] = gradB
        let backwardStatus = lgr_backward(handle, problem.inputs.scalars, n, l, saved, dz.scalars, &callOptions, a, b, &gradX, &report, &error)
        XCTAssertEqual(backwardStatus, LGR_OK, message(error))
        let reportText = report.map { String(cString: $0) } ?? ""
        lgr_string_free(report)
        XCTAssertTrue(reportText.contains("\"path\":\"\(expected.path.rawValue)\""), reportText)
        XCTAssertTrue(reportText.contains("\"precision\":\"\(swiftMethod.precision.name)\""), reportText)
        XCTAssertEqual(gradX, expectedGradients.input!.scalars, "\(features) \(swiftMethod.name) dX")
        for (index, projection) in Projection.allCases.enumerated() {
          XCTAssertEqual(Array(UnsafeBufferPointer(start: gradA[index], count: r * d)), expectedGradients.adapters[projection]!.a.scalars, "\(features) ∂A_\(projection.rawValue)")
          XCTAssertEqual(Array(UnsafeBufferPointer(start: gradB[index], count: d * r)), expectedGradients.adapters[projection]!.b.scalars, "\(features) ∂B_\(projection.rawValue)")
        }
      }
    }
  }

  /// Partial adaptation: NULL gradient pointers for the frozen projections; no dX when grad_x is NULL.
  func testPartialAdaptationAndNoInputGradient() throws {
    let problem = try AttentionProblem.synthetic(.none, length: 30, width: 8, loraRank: 2, adapted: [.value], seed: 72)
    let handle = try create(problem.layer)
    defer { lgr_layer_destroy(handle) }
    var callOptions = options(LGR_METHOD_EXACT, backend: LGR_BACKEND_OPENMP)
    var z = [Float](repeating: 0, count: problem.inputs.count)
    var saved: OpaquePointer?
    var error = lgr_error()
    XCTAssertEqual(lgr_forward(handle, problem.inputs.scalars, 1, 30, nil, &callOptions, &z, nil, &saved, &error), LGR_OK, message(error))
    defer { lgr_saved_destroy(saved) }
    var gradA = [Float](repeating: .nan, count: 16), gradB = [Float](repeating: .nan, count: 16)
    let status = gradA.withUnsafeMutableBufferPointer { a in
      gradB.withUnsafeMutableBufferPointer { b in
        lgr_backward(handle, problem.inputs.scalars, 1, 30, saved, z, &callOptions, [nil, nil, a.baseAddress], [nil, nil, b.baseAddress], nil, nil, &error)
      }
    }
    XCTAssertEqual(status, LGR_OK, message(error))
    let expected = try problem.layer.backward(
      problem.inputs, saved: try problem.layer.forward(problem.inputs, options: .serial), upstream: try Tensor(shape: problem.inputs.shape, scalars: z),
      inputGradient: false, options: .serial)
    XCTAssertEqual(gradA, expected.adapters[.value]!.a.scalars)
    XCTAssertEqual(gradB, expected.adapters[.value]!.b.scalars)
  }

  /// lgr_layer_with_adapters: the new layer computes what a layer created with those adapters
  /// computes (same bits), shares the old one's buffer pool (a second step allocates no working
  /// buffer), outlives the old one, and leaves the old one and its saved state working; bad
  /// arguments return LGR_INVALID_ARGUMENT, a message naming them, and *out = NULL.
  func testLayerWithOtherAdaptersSharesTheFrozenPartAndThePool() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 2, length: 40, width: 12, heads: 2, loraRank: 3, adapted: [.query, .value], seed: 73)
    let layer = problem.layer
    func step(_ adapters: [Projection: LoRAAdapter], _ shift: Float) -> [Projection: LoRAAdapter] {
      adapters.mapValues { adapter in
        var next = adapter
        next.a.scalars = adapter.a.scalars.map { $0 * 0.9 + shift }
        next.b.scalars = adapter.b.scalars.map { $0 - shift }
        return next
      }
    }
    let stepped = step(layer.adapters, 0.01), stepped2 = step(layer.adapters, 0.03)
    // The expected layers come from the validating initialiser, not from replacingAdapters.
    func created(_ adapters: [Projection: LoRAAdapter]) throws -> AttentionLayer {
      try AttentionLayer(
        frozenWeights: layer.frozenWeights, biases: layer.biases, adapters: adapters, heads: layer.heads, alpha: layer.alpha,
        beta: layer.beta, useRSLoRA: layer.useRSLoRA, causal: layer.causal, ropeTheta: layer.ropeTheta)
    }
    let handle = try create(layer)
    let (n, l) = (Int64(problem.inputs.shape[0]), Int64(problem.inputs.shape[1]))
    let r = layer.loraRank, d = layer.modelWidth
    var callOptions = options(LGR_METHOD_EXACT)
    var error = lgr_error()
    func forward(_ handle: OpaquePointer) throws -> ([Float], OpaquePointer?) {
      var z = [Float](repeating: .nan, count: problem.inputs.count)
      var saved: OpaquePointer?
      let lengths = problem.keyLengths.map { $0.map(Int64.init) }
      let status = lengths.withOptionalBuffer { lgr_forward(handle, problem.inputs.scalars, n, l, $0, &callOptions, &z, nil, &saved, &error) }
      XCTAssertEqual(status, LGR_OK, message(error))
      return (z, saved)
    }
    /// ∂A_q, ∂B_q, ∂A_v, ∂B_v and dX through the ABI.
    func backward(_ handle: OpaquePointer, _ saved: OpaquePointer?, _ dz: [Float]) -> [[Float]] {
      let gradients = (0..<4).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: r * d) }
      defer { gradients.forEach { $0.deallocate() } }
      var gradX = [Float](repeating: .nan, count: problem.inputs.count)
      let status = lgr_backward(
        handle, problem.inputs.scalars, n, l, saved, dz, &callOptions, [gradients[0], nil, gradients[2]], [gradients[1], nil, gradients[3]],
        &gradX, nil, &error)
      XCTAssertEqual(status, LGR_OK, message(error))
      return gradients.map { Array(UnsafeBufferPointer(start: $0, count: r * d)) } + [gradX]
    }
    func expected(_ layer: AttentionLayer, _ dz: [Float]) throws -> ([Float], [[Float]]) {
      let forward = try layer.forward(problem.inputs, keyLengths: problem.keyLengths, options: .dispatch(threads: 2))
      let g = try layer.backward(
        problem.inputs, saved: forward, upstream: try Tensor(shape: problem.inputs.shape, scalars: dz), options: .dispatch(threads: 2))
      return (forward.output.scalars, [g.adapters[.query]!.a.scalars, g.adapters[.query]!.b.scalars, g.adapters[.value]!.a.scalars,
                                       g.adapters[.value]!.b.scalars, g.input!.scalars])
    }
    func withAdapters(_ base: OpaquePointer?, _ adapters: [Projection: LoRAAdapter], _ out: inout OpaquePointer?) -> lgr_status {
      let (a, b, av, bv) = (adapters[.query]!.a.scalars, adapters[.query]!.b.scalars, adapters[.value]!.a.scalars, adapters[.value]!.b.scalars)
      return a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          av.withUnsafeBufferPointer { av in
            bv.withUnsafeBufferPointer { bv in
              lgr_layer_with_adapters(base, [a.baseAddress, nil, av.baseAddress], [b.baseAddress, nil, bv.baseAddress], &out, &error)
            }
          }
        }
      }
    }
    let (oldZ, oldSaved) = try forward(handle)
    defer { lgr_saved_destroy(oldSaved) }
    var next: OpaquePointer?
    XCTAssertEqual(withAdapters(handle, stepped, &next), LGR_OK, message(error))
    let nextHandle = try XCTUnwrap(next)
    defer { lgr_layer_destroy(nextHandle) }
    let pools = (try LayerHandle.from(nextHandle).layer.buffers, try LayerHandle.from(handle).layer.buffers)
    XCTAssertTrue(pools.0 === pools.1, "one pool")
    // The old layer and its saved state: its own adapters still.
    XCTAssertEqual(try forward(handle).0, oldZ)
    let (oldExpectedZ, oldExpected) = try expected(layer, oldZ)
    XCTAssertEqual(oldZ, oldExpectedZ)
    XCTAssertEqual(backward(handle, oldSaved, oldZ), oldExpected)
    lgr_layer_destroy(handle)  // the new layer outlives the one it was made from
    // The new layer: the bits of a layer created with its adapters.
    let (newZ, newSaved) = try forward(nextHandle)
    let (newExpectedZ, newExpected) = try expected(try created(stepped), newZ)
    XCTAssertEqual(newZ, newExpectedZ)
    XCTAssertNotEqual(newZ, oldZ)
    XCTAssertEqual(backward(nextHandle, newSaved, newZ), newExpected)
    lgr_saved_destroy(newSaved)
    // The next step's layer from that one: every working buffer from the shared pool.
    var third: OpaquePointer?
    XCTAssertEqual(withAdapters(nextHandle, stepped2, &third), LGR_OK, message(error))
    let thirdHandle = try XCTUnwrap(third)
    defer { lgr_layer_destroy(thirdHandle) }
    let allocatedBefore = pools.0.snapshot.allocated
    let (thirdZ, thirdSaved) = try forward(thirdHandle)
    let thirdGradients = backward(thirdHandle, thirdSaved, thirdZ)
    lgr_saved_destroy(thirdSaved)
    XCTAssertEqual(pools.0.snapshot.allocated, allocatedBefore, "a step at the same shape takes every buffer from the pool")
    let (thirdExpectedZ, thirdExpected) = try expected(try created(stepped2), thirdZ)
    XCTAssertEqual(thirdZ, thirdExpectedZ)
    XCTAssertEqual(thirdGradients, thirdExpected)
    XCTAssertGreaterThan(pools.0.snapshot.heldBlocks, 0, "the calls' buffers are kept")
    lgr_layer_release_buffers(thirdHandle)
    XCTAssertEqual(pools.0.snapshot.heldBlocks, 0, "and freed on request")
    lgr_layer_release_buffers(nil)
    // Bad arguments: each named, *out set to NULL.
    let a = stepped[.query]!.a.scalars, b = stepped[.query]!.b.scalars
    func expectInvalid(_ argument: String, line: UInt = #line, _ call: (inout OpaquePointer?) -> lgr_status) {
      var out = OpaquePointer(bitPattern: 1)
      XCTAssertEqual(call(&out), LGR_INVALID_ARGUMENT, line: line)
      XCTAssertTrue(message(error).hasPrefix("invalid argument \(argument):"), "\(message(error)) does not name \(argument)", line: line)
      if argument != "out" { XCTAssertNil(out, "*out is NULL after a failure", line: line) }
    }
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        let (pa, pb) = (a.baseAddress, b.baseAddress)
        expectInvalid("lora_a[LGR_VALUE] (A_v)") { lgr_layer_with_adapters(thirdHandle, [pa, nil, nil], [pb, nil, pb], &$0, &error) }
        expectInvalid("lora_b[LGR_VALUE] (B_v)") { lgr_layer_with_adapters(thirdHandle, [pa, nil, pa], [pb, nil, nil], &$0, &error) }
        expectInvalid("lora_a[LGR_KEY], lora_b[LGR_KEY]") { lgr_layer_with_adapters(thirdHandle, [pa, pa, pa], [pb, pb, pb], &$0, &error) }
        expectInvalid("out") { _ in lgr_layer_with_adapters(thirdHandle, [pa, nil, pa], [pb, nil, pb], nil, &error) }
        expectInvalid("layer") { lgr_layer_with_adapters(nil, [pa, nil, pa], [pb, nil, pb], &$0, &error) }
        expectInvalid("lora_a") { lgr_layer_with_adapters(thirdHandle, nil, [pb, nil, pb], &$0, &error) }
        expectInvalid("lora_b") { lgr_layer_with_adapters(thirdHandle, [pa, nil, pa], nil, &$0, &error) }
      }
    }
    let frozenOnly = try create(try AttentionProblem.synthetic(.none, length: 20, width: 12, loraRank: 3, adapted: [], seed: 74).layer)
    defer { lgr_layer_destroy(frozenOnly) }
    expectInvalid("layer") { lgr_layer_with_adapters(frozenOnly, [nil, nil, nil], [nil, nil, nil], &$0, &error) }
    var nonFinite = stepped
    nonFinite[.value]!.a.scalars[2] = .nan
    var out = OpaquePointer(bitPattern: 1)
    XCTAssertEqual(withAdapters(thirdHandle, nonFinite, &out), LGR_INVALID_ARGUMENT)
    XCTAssertTrue(message(error).contains("A_v"), message(error))
    XCTAssertNil(out)
  }

  /// Every kind of bad input returns its status and a message naming the argument; nothing traps.
  func testBadInputReturnsAStatusAndAMessage() throws {
    let problem = try AttentionProblem.synthetic(.none, length: 20, width: 8, heads: 2, loraRank: 2, adapted: [.query], seed: 73)
    let layer = problem.layer
    var error = lgr_error()
    var handle: OpaquePointer?
    func expectCreate(_ status: lgr_status, _ words: String, _ change: (inout lgr_layer_desc) -> Void, line: UInt = #line) {
      withDescription(layer) { desc in
        change(&desc)
        XCTAssertEqual(lgr_layer_create(&desc, &handle, &error), status, message(error), line: line)
        XCTAssertEqual(Int32(bitPattern: status.rawValue), error.status, line: line)
        XCTAssertTrue(message(error).contains(words), "\(message(error)) lacks \(words)", line: line)
        XCTAssertNil(handle, line: line)
      }
    }
    XCTAssertEqual(lgr_layer_create(nil, &handle, &error), LGR_INVALID_ARGUMENT)
    XCTAssertTrue(message(error).contains("desc"))
    withDescription(layer) { desc in XCTAssertEqual(lgr_layer_create(&desc, nil, nil), LGR_INVALID_ARGUMENT) }
    expectCreate(LGR_INVALID_ARGUMENT, "abi_version") { $0.abi_version = 99 }
    expectCreate(LGR_INVALID_ARGUMENT, "desc.weights[LGR_KEY]") { $0.weights.1 = nil }
    expectCreate(LGR_INVALID_ARGUMENT, "desc.width") { $0.width = 0 }
    expectCreate(LGR_RESOURCE_EXHAUSTED, "memory") { $0.width = 1 << 20 }
    expectCreate(LGR_INVALID_ARGUMENT, "heads") { $0.heads = 3 }
    expectCreate(LGR_INVALID_ARGUMENT, "both set") { $0.lora_b.0 = nil }
    expectCreate(LGR_INVALID_ARGUMENT, "lora_rank") { $0.lora_rank = 0 }
    expectCreate(LGR_INVALID_ARGUMENT, "rope_theta") { $0.rope_theta = -1 }
    expectCreate(LGR_INVALID_ARGUMENT, "beta") { $0.beta = -1 }
    var poisoned = layer.frozenWeights[.value]!.scalars
    poisoned[5] = .infinity
    poisoned.withUnsafeBufferPointer { pointer in
      expectCreate(LGR_INVALID_ARGUMENT, "W_v") { $0.weights.2 = pointer.baseAddress }
    }

    let good = try create(layer)
    defer { lgr_layer_destroy(good) }
    let other = try create(layer)
    defer { lgr_layer_destroy(other) }
    var z = [Float](repeating: 0, count: problem.inputs.count)
    func expectForward(_ status: lgr_status, _ words: String, n: Int64 = 1, l: Int64 = 20, lengths: [Int64]? = nil,
                       x: [Float]? = nil, _ change: (inout lgr_options) -> Void = { _ in }, line: UInt = #line) {
      var callOptions = options(LGR_METHOD_EXACT)
      change(&callOptions)
      let result = lengths.withOptionalBuffer { pointer in
        lgr_forward(good, x ?? problem.inputs.scalars, n, l, pointer, &callOptions, &z, nil, nil, &error)
      }
      XCTAssertEqual(result, status, message(error), line: line)
      XCTAssertTrue(message(error).contains(words), "\(message(error)) lacks \(words)", line: line)
    }
    expectForward(LGR_INVALID_ARGUMENT, "LGR_METHOD_EXACT") {
      $0.precision = Int32(LGR_PRECISION_BFLOAT16.rawValue)
      $0.method = Int32(LGR_METHOD_POLY.rawValue)
    }
    expectForward(LGR_INVALID_ARGUMENT, "options.precision") { $0.precision = 2 }
    expectForward(LGR_INVALID_ARGUMENT, "options.threads") { $0.threads = 0 }
    expectForward(LGR_INVALID_ARGUMENT, "options.backend") { $0.backend = 7 }
    expectForward(LGR_INVALID_ARGUMENT, "options.method") { $0.method = -1 }
    expectForward(LGR_INVALID_ARGUMENT, "options.tolerance") { $0.method = Int32(LGR_METHOD_POLY.rawValue); $0.tolerance = 2 }
    expectForward(LGR_INVALID_ARGUMENT, "length", l: 0)
    expectForward(LGR_INVALID_ARGUMENT, "lengths", lengths: [21])
    var scaled = problem.inputs.scalars.map { $0 * 300 }
    expectForward(LGR_TOLERANCE_UNREACHABLE, "exact path", x: scaled) { $0.method = Int32(LGR_METHOD_POLY.rawValue) }
    scaled[3] = .nan
    expectForward(LGR_INVALID_ARGUMENT, "X", x: scaled)
    var callOptions = options(LGR_METHOD_EXACT)
    XCTAssertEqual(lgr_forward(nil, problem.inputs.scalars, 1, 20, nil, &callOptions, &z, nil, nil, &error), LGR_INVALID_ARGUMENT)
    XCTAssertEqual(lgr_forward(good, nil, 1, 20, nil, &callOptions, &z, nil, nil, &error), LGR_INVALID_ARGUMENT)
    XCTAssertEqual(lgr_forward(good, problem.inputs.scalars, 1, 20, nil, &callOptions, nil, nil, nil, &error), LGR_INVALID_ARGUMENT)
    XCTAssertTrue(message(error).contains("z"))
    // NULL options mean the defaults; NULL error is allowed.
    XCTAssertEqual(lgr_forward(good, problem.inputs.scalars, 1, 20, nil, nil, &z, nil, nil, nil), LGR_OK)

    // backward: the saved state of another layer or of other sizes, and a missing gradient array.
    var saved: OpaquePointer?
    XCTAssertEqual(lgr_forward(good, problem.inputs.scalars, 1, 20, nil, &callOptions, &z, nil, &saved, &error), LGR_OK)
    defer { lgr_saved_destroy(saved) }
    var gradA = [Float](repeating: 0, count: 16), gradB = [Float](repeating: 0, count: 16)
    func expectBackward(_ status: lgr_status, _ words: String, layer: OpaquePointer?, l: Int64 = 20, a: Bool = true, line: UInt = #line) {
      let result = gradA.withUnsafeMutableBufferPointer { ap in
        gradB.withUnsafeMutableBufferPointer { bp in
          lgr_backward(layer, problem.inputs.scalars, 1, l, saved, z, &callOptions, [a ? ap.baseAddress : nil, nil, nil], [bp.baseAddress, nil, nil], nil, nil, &error)
        }
      }
      XCTAssertEqual(result, status, message(error), line: line)
      XCTAssertTrue(words.isEmpty || message(error).contains(words), "\(message(error)) lacks \(words)", line: line)
    }
    expectBackward(LGR_INVALID_ARGUMENT, "another layer", layer: other)
    expectBackward(LGR_INVALID_ARGUMENT, "as in the forward call", layer: good, l: 19)
    expectBackward(LGR_INVALID_ARGUMENT, "grad_lora_a[LGR_QUERY]", layer: good, a: false)
    expectBackward(LGR_OK, "", layer: good)
    XCTAssertEqual(lgr_backward(good, problem.inputs.scalars, 1, 20, nil, z, &callOptions, nil, nil, nil, nil, &error), LGR_INVALID_ARGUMENT)
    var json: UnsafeMutablePointer<CChar>?
    XCTAssertEqual(lgr_regime(good, problem.inputs.scalars, 1, 20, nil, nil, nil, &error), LGR_INVALID_ARGUMENT)
    XCTAssertEqual(lgr_regime(good, problem.inputs.scalars, 1, 20, nil, nil, &json, &error), LGR_OK, message(error))
    XCTAssertTrue(String(cString: json!).contains("\"verdict\""))
    lgr_string_free(json)
    XCTAssertEqual(lgr_saved_report(saved, &json, &error), LGR_OK)
    XCTAssertTrue(String(cString: json!).contains("\"path\":\"exact\""))
    lgr_string_free(json)
    XCTAssertEqual(String(cString: lgr_status_name(Int32(LGR_TOLERANCE_UNREACHABLE.rawValue))), "LGR_TOLERANCE_UNREACHABLE")
    lgr_layer_destroy(nil)
    lgr_saved_destroy(nil)
    lgr_string_free(nil)
  }

  /// A message longer than the buffer is cut at a UTF-8 character boundary and stays NUL-terminated.
  func testLongMessagesAreCutAtACharacterBoundary() {
    var error = lgr_error()
    let long = String(repeating: "a", count: 1022) + "√√√"
    ABICall.write(LGR_INVALID_ARGUMENT, long, to: &error)
    let text = message(error)
    XCTAssertEqual(text, String(repeating: "a", count: 1022))
    ABICall.write(LGR_OK, "", to: &error)
    XCTAssertEqual(message(error), "")
  }
}

extension Optional where Wrapped == [Int64] {
  /// Calls `body` with a pointer to the values, or NULL.
  fileprivate func withOptionalBuffer<T>(_ body: (UnsafePointer<Int64>?) -> T) -> T {
    switch self {
    case .none: return body(nil)
    case .some(let values): return values.withUnsafeBufferPointer { body($0.baseAddress) }
    }
  }
}
