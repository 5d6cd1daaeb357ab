@testable import LoRAGrad
import XCTest

/// The features of the layer form, to build problems with each alone and all together.
struct LayerFeatures: CustomStringConvertible, Sendable {
  var biases = false
  var causal = false
  var ropeTheta: Double? = nil
  var keyLengths: (@Sendable ([Int]) -> [Int]?)? = nil
  var useRSLoRA = false
  var upstream = false

  static let none = LayerFeatures()
  static let all = LayerFeatures(
    biases: true, causal: true, ropeTheta: 10_000, keyLengths: { lengths in lengths.map { max(1, $0 * 3 / 4) } }, useRSLoRA: true,
    upstream: true)
  /// Each feature alone, then all together.
  static let each: [LayerFeatures] = [
    .none, LayerFeatures(biases: true), LayerFeatures(causal: true), LayerFeatures(ropeTheta: 10_000),
    LayerFeatures(keyLengths: { lengths in lengths.enumerated().map { max(1, $1 - 3 - 7 * $0) } }), LayerFeatures(useRSLoRA: true),
    LayerFeatures(upstream: true), .all,
  ]

  var description: String {
    var parts: [String] = []
    if biases { parts.append("biases") }
    if causal { parts.append("causal") }
    if ropeTheta != nil { parts.append("rope") }
    if keyLengths != nil { parts.append("padding") }
    if useRSLoRA { parts.append("rslora") }
    if upstream { parts.append("dz") }
    return parts.isEmpty ? "plain" : parts.joined(separator: "+")
  }
}

extension AttentionProblem {
  /// A synthetic problem with the given layer features (keyLengths computed from [L, L, …]).
  static func synthetic(
    _ features: LayerFeatures, sequences: Int = 1, length: Int, width: Int, heads: Int = 1, loraRank: Int = 4,
    adapted: Set<Projection> = Set(Projection.allCases), alpha: Double? = nil, normBound: Double? = nil, seed: UInt64 = 0
  ) throws -> AttentionProblem {
    let lengths = features.keyLengths?(Array(repeating: length, count: sequences))
    if let normBound {
      return try .synthetic(
        sequences: sequences, length: length, width: width, heads: heads, loraRank: loraRank, adapted: adapted, alpha: alpha,
        biases: features.biases, causal: features.causal, ropeTheta: features.ropeTheta, keyLengths: lengths,
        useRSLoRA: features.useRSLoRA, upstream: features.upstream, normBound: normBound, seed: seed)
    }
    return try .synthetic(
      sequences: sequences, length: length, width: width, heads: heads, loraRank: loraRank, adapted: adapted, alpha: alpha,
      biases: features.biases, causal: features.causal, ropeTheta: features.ropeTheta, keyLengths: lengths,
      useRSLoRA: features.useRSLoRA, upstream: features.upstream, seed: seed)
  }
}

/// max|g̃ − g| / max|g| for every adapter matrix, dX and the loss, by name.
func relativeErrors(_ candidate: Gradients, _ reference: Gradients) -> [(name: String, error: Double)] {
  var errors: [(String, Double)] = []
  for projection in reference.adapters.keys.sorted() {
    guard let actual = candidate.adapters[projection] else { errors.append(("∂A_\(projection.rawValue)", .infinity)); continue }
    let expected = reference.adapters[projection]!
    errors.append(("∂A_\(projection.rawValue)", actual.a.maxRelativeDifference(from: expected.a)))
    errors.append(("∂B_\(projection.rawValue)", actual.b.maxRelativeDifference(from: expected.b)))
  }
  if let expected = reference.input {
    errors.append(("dX", candidate.input.map { $0.maxRelativeDifference(from: expected) } ?? .infinity))
  }
  if let loss = reference.loss {
    errors.append(("loss", abs((candidate.loss ?? .nan) - loss) / max(abs(loss), 1e-300)))
  }
  return errors
}

/// Asserts that two results hold the same adapters and that every gradient (and the loss) agrees
/// to `tolerance`; returns the worst observed error.
@discardableResult
func assertClose(
  _ candidate: Gradients, _ reference: Gradients, tolerance: Double, _ message: String = "",
  file: StaticString = #filePath, line: UInt = #line
) -> Double {
  XCTAssertEqual(Set(candidate.adapters.keys), Set(reference.adapters.keys), message, file: file, line: line)
  var worst = 0.0
  for (name, error) in relativeErrors(candidate, reference) {
    worst = max(worst, error)
    XCTAssertLessThanOrEqual(error, tolerance, "\(name): error \(error) > \(tolerance) \(message)", file: file, line: line)
  }
  return worst
}

/// Asserts two results are the same bits (loss, adapters, dX).
func assertBitIdentical(_ a: Gradients, _ b: Gradients, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
  XCTAssertEqual(a.loss?.bitPattern, b.loss?.bitPattern, message, file: file, line: line)
  XCTAssertEqual(a.adapters, b.adapters, message, file: file, line: line)
  XCTAssertEqual(a.input, b.input, message, file: file, line: line)
}

/// Asserts that, entry by entry, |g̃ − g| ≤ relative·max|g| + floor for every adapter matrix and
/// dX, and the loss to the relative term: the exact path's rounding model (`RoundingModel`).
/// Returns the largest ratio |g̃ − g| / (relative·max|g| + floor).
@discardableResult
func assertWithinRoundingModel(
  _ candidate: Gradients, _ reference: Gradients, problem: AttentionProblem, relative given: Double? = nil,
  precision: ExactPrecision = .float32, _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) -> Double {
  let relative = given ?? RoundingModel.relativeTolerance(problem, precision: precision)
  let floors = RoundingModel.cancellationFloor(problem, precision: precision)
  XCTAssertEqual(Set(candidate.adapters.keys), Set(reference.adapters.keys), message, file: file, line: line)
  var pairs: [(TensorRole, Tensor, Tensor)] = []
  if let expected = reference.input {
    XCTAssertNotNil(candidate.input, "dX missing \(message)", file: file, line: line)
    if let actual = candidate.input { pairs.append((.inputs, actual, expected)) }
  }
  for projection in reference.adapters.keys.sorted() {
    guard let actual = candidate.adapters[projection] else { continue }
    pairs.append((.adapterA(projection), actual.a, reference.adapters[projection]!.a))
    pairs.append((.adapterB(projection), actual.b, reference.adapters[projection]!.b))
  }
  var worst = 0.0
  for (role, x, y) in pairs {
    XCTAssertEqual(x.shape, y.shape, "\(role) \(message)", file: file, line: line)
    let scale = y.scalars.lazy.map { abs(Double($0)) }.max() ?? 0
    let floor = floors[role] ?? []
    for index in y.scalars.indices {
      let allowed = relative * scale + (floor.isEmpty ? 0 : floor[index])
      let error = abs(Double(x.scalars[index]) - Double(y.scalars[index]))
      let ratio = allowed > 0 ? error / allowed : (error == 0 ? 0 : .infinity)
      worst = max(worst, ratio)
      if ratio > 1 {
        XCTFail("\(role)[\(index)]: |error| \(error) > \(allowed) (relative \(relative * scale) + floor) \(message)", file: file, line: line)
        return worst
      }
    }
  }
  if let loss = reference.loss {
    XCTAssertLessThanOrEqual(abs((candidate.loss ?? .nan) - loss), relative * abs(loss), "loss \(message)", file: file, line: line)
  }
  return worst
}

/// Asserts the polynomial path's reported bounds hold against the reference: every entry of every
/// adapter gradient and of dX within its entrywise bound, the relative measures within the
/// reported `errorBounds`, the output within `outputErrorBound`, the loss within `lossErrorBound`.
/// Returns bound / observed for each gradient (how loose the bounds are), by name.
@discardableResult
func assertWithinErrorBounds(
  _ candidate: Gradients, _ reference: Gradients, _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) -> [String: Double] {
  guard let bounds = candidate.errorBounds, let entrywise = candidate.entrywiseErrorBounds else {
    XCTFail("no error bounds \(message)", file: file, line: line)
    return [:]
  }
  var looseness: [String: Double] = [:]
  var pairs: [(TensorRole, Tensor, Tensor)] = []
  for projection in reference.adapters.keys.sorted() {
    pairs.append((.adapterA(projection), candidate.adapters[projection]!.a, reference.adapters[projection]!.a))
    pairs.append((.adapterB(projection), candidate.adapters[projection]!.b, reference.adapters[projection]!.b))
  }
  if let input = candidate.input, let expected = reference.input { pairs.append((.inputs, input, expected)) }
  for (role, x, y) in pairs {
    guard let bound = entrywise[role], let relative = bounds[role] else {
      XCTFail("no bound for \(role) \(message)", file: file, line: line)
      continue
    }
    for index in y.scalars.indices {
      let error = abs(Double(x.scalars[index]) - Double(y.scalars[index]))
      if error > Double(bound.scalars[index]) {
        XCTFail("\(role)[\(index)]: |error| \(error) > bound \(bound.scalars[index]) \(message)", file: file, line: line)
        break
      }
    }
    let observed = x.maxRelativeDifference(from: y)
    // The relative bound is max(bound)/max|g̃|; against max|g| it may differ by the error itself.
    XCTAssertLessThanOrEqual(observed, relative * (1 + relative) + 1e-12, "\(role) \(message)", file: file, line: line)
    looseness["\(role)"] = observed > 0 ? relative / observed : .infinity
  }
  if let loss = reference.loss, let candidateLoss = candidate.loss, let lossBound = candidate.lossErrorBound {
    XCTAssertLessThanOrEqual(abs(candidateLoss - loss) / loss, lossBound * 1.0001, "loss \(message)", file: file, line: line)
  }
  return looseness
}
