import CLoRAGradABI
import LoRAGrad

/// `lgr_layer_create`: validates the description, copies the weights and forms W_μ once.
@_cdecl("lgr_layer_create")
public func lgrLayerCreate(
  _ desc: UnsafePointer<lgr_layer_desc>?, _ layer: UnsafeMutablePointer<OpaquePointer?>?, _ error: UnsafeMutablePointer<lgr_error>?
) -> lgr_status {
  ABICall.run(error) {
    guard let layer else { throw ABIFailure.null("layer", "a place for the new layer") }
    layer.pointee = nil
    guard let desc else { throw ABIFailure.null("desc", "an lgr_layer_desc (see lgr_layer_desc_init)") }
    let handle = LayerHandle(try ABILayerDescription.layer(desc.pointee))
    layer.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
  }
}

/// `lgr_layer_destroy`: releases the layer (NULL is ignored).
@_cdecl("lgr_layer_destroy")
public func lgrLayerDestroy(_ layer: OpaquePointer?) {
  guard let layer else { return }
  Unmanaged<LayerHandle>.fromOpaque(UnsafeRawPointer(layer)).release()
}

/// `lgr_layer_with_adapters`: the layer with other adapters of the same projections and rank,
/// sharing its frozen part and its buffer pool.
@_cdecl("lgr_layer_with_adapters")
public func lgrLayerWithAdapters(
  _ layer: OpaquePointer?, _ loraA: UnsafePointer<UnsafePointer<Float>?>?, _ loraB: UnsafePointer<UnsafePointer<Float>?>?,
  _ out: UnsafeMutablePointer<OpaquePointer?>?, _ error: UnsafeMutablePointer<lgr_error>?
) -> lgr_status {
  ABICall.run(error) {
    guard let out else { throw ABIFailure.null("out", "a place for the new layer") }
    out.pointee = nil
    let base = try LayerHandle.from(layer).layer
    let adapted = base.adaptedProjections
    guard !adapted.isEmpty else { throw ABIFailure.invalid("layer", "a layer with adapters (created with lora_a, lora_b set)", "one without") }
    guard let loraA else { throw ABIFailure.null("lora_a", "an array of 3 pointers (the adapted projections' A_μ)") }
    guard let loraB else { throw ABIFailure.null("lora_b", "an array of 3 pointers (the adapted projections' B_μ)") }
    let r = Int64(base.loraRank), d = Int64(base.modelWidth)
    var adapters: [Projection: LoRAAdapter] = [:]
    for (index, projection) in ABILayerDescription.projections.enumerated() {
      let field = ABILayerDescription.indexNames[index]
      guard adapted.contains(projection) else {
        guard loraA[index] == nil, loraB[index] == nil else {
          throw ABIFailure.invalid("lora_a\(field), lora_b\(field)", "NULL (the layer does not adapt \(projection.rawValue))", "set")
        }
        continue
      }
      adapters[projection] = LoRAAdapter(
        a: try ABIArrays.tensor(loraA[index], "lora_a\(field) (A_\(projection.rawValue))", [r, d]),
        b: try ABIArrays.tensor(loraB[index], "lora_b\(field) (B_\(projection.rawValue))", [d, r]))
    }
    let handle = LayerHandle(try base.replacingAdapters(adapters))
    out.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
  }
}

/// `lgr_layer_release_buffers`: frees the buffers the layer's pool holds (NULL is ignored).
@_cdecl("lgr_layer_release_buffers")
public func lgrLayerReleaseBuffers(_ layer: OpaquePointer?) {
  guard let layer else { return }
  Unmanaged<LayerHandle>.fromOpaque(UnsafeRawPointer(layer)).takeUnretainedValue().layer.releaseCachedBuffers()
}

/// The checks and conversions of an `lgr_layer_desc`.
enum ABILayerDescription {
  /// The largest model width and LoRA rank accepted (a [D, D] weight of 2^20 squared floats is
  /// already 4 TiB).
  static let maximumWidth: Int64 = 1 << 20

  /// The projections in the order of the C arrays (LGR_QUERY, LGR_KEY, LGR_VALUE).
  static let projections: [Projection] = [.query, .key, .value]

  /// "[LGR_QUERY]", "[LGR_KEY]", "[LGR_VALUE]": how messages name an index of the C arrays.
  static let indexNames = ["[LGR_QUERY]", "[LGR_KEY]", "[LGR_VALUE]"]

  /// The layer `desc` describes; every failure names the field.
  static func layer(_ desc: lgr_layer_desc) throws -> AttentionLayer {
    guard desc.abi_version == LGR_ABI_VERSION else {
      throw ABIFailure.invalid("desc.abi_version", "LGR_ABI_VERSION = \(LGR_ABI_VERSION) (use lgr_layer_desc_init)", "\(desc.abi_version)")
    }
    let d = desc.width
    guard d >= 1, d <= maximumWidth else { throw ABIFailure.invalid("desc.width", "a model width D in 1…\(maximumWidth)", "\(d)") }
    guard desc.heads >= 1, desc.heads <= d else { throw ABIFailure.invalid("desc.heads", "a head count H in 1…D = \(d)", "\(desc.heads)") }
    let weights = withUnsafeBytes(of: desc.weights) { Array($0.bindMemory(to: UnsafePointer<Float>?.self)) }
    let biases = withUnsafeBytes(of: desc.biases) { Array($0.bindMemory(to: UnsafePointer<Float>?.self)) }
    let loraA = withUnsafeBytes(of: desc.lora_a) { Array($0.bindMemory(to: UnsafePointer<Float>?.self)) }
    let loraB = withUnsafeBytes(of: desc.lora_b) { Array($0.bindMemory(to: UnsafePointer<Float>?.self)) }
    var frozen: [Projection: Tensor] = [:], biasTensors: [Projection: Tensor] = [:], adapters: [Projection: LoRAAdapter] = [:]
    for (index, projection) in projections.enumerated() {
      let field = indexNames[index]
      frozen[projection] = try ABIArrays.tensor(weights[index], "desc.weights\(field) (W_\(projection.rawValue))", [d, d])
      if let bias = biases[index] { biasTensors[projection] = try ABIArrays.tensor(bias, "desc.biases\(field) (b_\(projection.rawValue))", [d]) }
      switch (loraA[index], loraB[index]) {
      case (nil, nil): break
      case let (a?, b?):
        let r = desc.lora_rank
        guard r >= 1, r <= maximumWidth else { throw ABIFailure.invalid("desc.lora_rank", "a LoRA rank r in 1…\(maximumWidth) (an adapter is given)", "\(r)") }
        adapters[projection] = LoRAAdapter(
          a: try ABIArrays.tensor(a, "desc.lora_a\(field) (A_\(projection.rawValue))", [r, d]),
          b: try ABIArrays.tensor(b, "desc.lora_b\(field) (B_\(projection.rawValue))", [d, r]))
      default:
        throw ABIFailure.invalid(
          "desc.lora_a\(field), desc.lora_b\(field)", "both set (μ adapted) or both NULL",
          loraA[index] == nil ? "lora_b set and lora_a NULL" : "lora_a set and lora_b NULL")
      }
    }
    guard desc.rope_theta == 0 || (desc.rope_theta.isFinite && desc.rope_theta > 0) else {
      throw ABIFailure.invalid("desc.rope_theta", "a RoPE base θ > 0, or 0 for no RoPE", "\(desc.rope_theta)")
    }
    return try AttentionLayer(
      frozenWeights: frozen, biases: biasTensors, adapters: adapters, heads: Int(desc.heads),
      alpha: desc.alpha.isNaN ? nil : desc.alpha, beta: desc.beta.isNaN ? nil : desc.beta, useRSLoRA: desc.use_rslora != 0,
      causal: desc.causal != 0, ropeTheta: desc.rope_theta == 0 ? nil : desc.rope_theta)
  }
}
