import CLoRAGradABI
import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// The inputs of a call: the layer, X [N, L, D] and the key lengths, checked.
struct ABIInputs {
  let handle: LayerHandle
  let inputs: Tensor
  let keyLengths: [Int]?

  init(_ layer: OpaquePointer?, _ x: UnsafePointer<Float>?, _ sequences: Int64, _ length: Int64, _ keyLengths: UnsafePointer<Int64>?) throws {
    handle = try LayerHandle.from(layer)
    guard sequences >= 1 else { throw ABIFailure.invalid("sequences", "N ≥ 1", "\(sequences)") }
    guard length >= 1 else { throw ABIFailure.invalid("length", "L ≥ 1", "\(length)") }
    inputs = try ABIArrays.tensor(x, "x (X)", [sequences, length, Int64(handle.layer.modelWidth)])
    self.keyLengths = keyLengths.map { pointer in (0..<Int(sequences)).map { Int(truncatingIfNeeded: pointer[$0]) } }
  }
}

/// `lgr_forward`: Z and lse for X, and the saved state for backward.
@_cdecl("lgr_forward")
public func lgrForward(
  _ layer: OpaquePointer?, _ x: UnsafePointer<Float>?, _ sequences: Int64, _ length: Int64, _ keyLengths: UnsafePointer<Int64>?,
  _ options: UnsafePointer<lgr_options>?, _ z: UnsafeMutablePointer<Float>?, _ lse: UnsafeMutablePointer<Float>?,
  _ saved: UnsafeMutablePointer<OpaquePointer?>?, _ error: UnsafeMutablePointer<lgr_error>?
) -> lgr_status {
  ABICall.run(error) {
    saved?.pointee = nil
    let call = try ABIInputs(layer, x, sequences, length, keyLengths)
    let settings = try ABIOptions(options)
    guard let z else { throw ABIFailure.null("z", "a float32 array [N, L, D] for Z") }
    let forward = try call.handle.layer.forward(call.inputs, keyLengths: call.keyLengths, method: settings.method, options: settings.execution)
    try ABIArrays.copy(forward.output, to: z, "z")
    if let lse { try ABIArrays.copy(forward.logSumExp, to: lse, "lse") }
    if let saved {
      let handle = SavedHandle(forward: forward, layer: call.handle, method: settings.method, sequences: sequences, length: length)
      saved.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    }
  }
}

/// `lgr_backward`: every adapter gradient and dX from dZ, by the path of `saved`.
@_cdecl("lgr_backward")
public func lgrBackward(
  _ layer: OpaquePointer?, _ x: UnsafePointer<Float>?, _ sequences: Int64, _ length: Int64, _ saved: OpaquePointer?,
  _ dz: UnsafePointer<Float>?, _ options: UnsafePointer<lgr_options>?, _ gradLoraA: UnsafePointer<UnsafeMutablePointer<Float>?>?,
  _ gradLoraB: UnsafePointer<UnsafeMutablePointer<Float>?>?, _ gradX: UnsafeMutablePointer<Float>?,
  _ report: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ error: UnsafeMutablePointer<lgr_error>?
) -> lgr_status {
  ABICall.run(error) {
    report?.pointee = nil
    let call = try ABIInputs(layer, x, sequences, length, nil)
    let state = try SavedHandle.from(saved)
    guard state.layer === call.handle else { throw ABIFailure.invalid("saved", "the saved state of a forward call on this layer", "another layer's") }
    guard state.sequences == sequences, state.length == length else {
      throw ABIFailure.invalid("sequences, length", "N = \(state.sequences), L = \(state.length) as in the forward call", "N = \(sequences), L = \(length)")
    }
    let settings = try ABIOptions(options)
    let upstream = try ABIArrays.tensor(dz, "dz (dZ)", [sequences, length, Int64(call.handle.layer.modelWidth)])
    let adapted = call.handle.layer.adaptedProjections
    if !adapted.isEmpty {
      guard gradLoraA != nil else { throw ABIFailure.null("grad_lora_a", "an array of 3 pointers (the adapted projections' ∂loss/∂A_μ)") }
      guard gradLoraB != nil else { throw ABIFailure.null("grad_lora_b", "an array of 3 pointers (the adapted projections' ∂loss/∂B_μ)") }
    }
    // Every output pointer is checked before anything is computed or written.
    var targets: [(Projection, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)] = []
    for projection in adapted {
      let index = ABILayerDescription.projections.firstIndex(of: projection)!
      let field = ABILayerDescription.indexNames[index]
      let r = call.handle.layer.loraRank, d = call.handle.layer.modelWidth
      guard let a = gradLoraA![index] else { throw ABIFailure.null("grad_lora_a\(field)", "a float32 array [\(r), \(d)] for ∂loss/∂A_\(projection.rawValue)") }
      guard let b = gradLoraB![index] else { throw ABIFailure.null("grad_lora_b\(field)", "a float32 array [\(d), \(r)] for ∂loss/∂B_\(projection.rawValue)") }
      targets.append((projection, a, b))
    }
    let gradients = try call.handle.layer.backward(
      call.inputs, saved: state.forward, upstream: upstream, inputGradient: gradX != nil, options: settings.execution)
    for (projection, a, b) in targets {
      try ABIArrays.copy(gradients.adapters[projection]!.a, to: a, "grad_lora_a")
      try ABIArrays.copy(gradients.adapters[projection]!.b, to: b, "grad_lora_b")
    }
    if let gradX, let input = gradients.input { try ABIArrays.copy(input, to: gradX, "grad_x") }
    if let report {
      var object = JSONObject([("path", .string(gradients.path.rawValue)), ("precision", .string(gradients.precision.name))])
      if let bounds = gradients.errorBounds { object.append("gradient_error_bound", .object(RegimeJSON.gradientBounds(bounds))) }
      report.pointee = try ABIArrays.string(object.description)
    }
  }
}

/// `lgr_saved_report`: the path of a forward call and its analysis as JSON.
@_cdecl("lgr_saved_report")
public func lgrSavedReport(
  _ saved: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ error: UnsafeMutablePointer<lgr_error>?
) -> lgr_status {
  ABICall.run(error) {
    guard let json else { throw ABIFailure.null("json", "a place for the JSON text") }
    json.pointee = nil
    let state = try SavedHandle.from(saved)
    let forward = state.forward
    var object = JSONObject([
      ("method", .string(state.method.name)), ("path", .string(forward.path.rawValue)), ("precision", .string(forward.precision.name)),
    ])
    let tolerance: Double
    switch state.method {
    case .polynomial(let settings), .auto(let settings): tolerance = settings.tolerance
    default: tolerance = 0
    }
    RegimeJSON.appendAnalysis(regime: forward.regime, check: forward.check, tolerance: tolerance, to: &object)
    if let bound = forward.outputErrorBound { object.append("output_error_bound", .double(bound)) }
    json.pointee = try ABIArrays.string(object.description)
  }
}

/// `lgr_saved_destroy`: releases saved state (NULL is ignored).
@_cdecl("lgr_saved_destroy")
public func lgrSavedDestroy(_ saved: OpaquePointer?) {
  guard let saved else { return }
  Unmanaged<SavedHandle>.fromOpaque(UnsafeRawPointer(saved)).release()
}

/// `lgr_regime`: R, Γ, the degree, features, predicted costs and verdict of X as JSON.
@_cdecl("lgr_regime")
public func lgrRegime(
  _ layer: OpaquePointer?, _ x: UnsafePointer<Float>?, _ sequences: Int64, _ length: Int64, _ keyLengths: UnsafePointer<Int64>?,
  _ options: UnsafePointer<lgr_options>?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
  _ error: UnsafeMutablePointer<lgr_error>?
) -> lgr_status {
  ABICall.run(error) {
    guard let json else { throw ABIFailure.null("json", "a place for the JSON text") }
    json.pointee = nil
    let call = try ABIInputs(layer, x, sequences, length, keyLengths)
    let settings = try ABIOptions(options)
    guard settings.tolerance > 0, settings.tolerance < 1 else {
      throw ABIFailure.invalid("options.tolerance", "a number in (0, 1)", "\(settings.tolerance)")
    }
    let regime = try call.handle.layer.regime(
      call.inputs, keyLengths: call.keyLengths, settings: PolynomialSettings(tolerance: settings.tolerance), options: settings.execution)
    var object = JSONObject([("tolerance", .double(settings.tolerance))])
    RegimeJSON.appendExecution(settings.execution, to: &object)
    RegimeJSON.appendProblem(layer: call.handle.layer, inputs: call.inputs, keyLengths: call.keyLengths, to: &object)
    RegimeJSON.append(regime, to: &object)
    json.pointee = try ABIArrays.string(object.description)
  }
}

/// `lgr_string_free`: frees a string the library returned (NULL is ignored).
@_cdecl("lgr_string_free")
public func lgrStringFree(_ string: UnsafeMutablePointer<CChar>?) {
  free(string)
}
