import Foundation

/// The cost model that picks a path: the flops of each path divided by kernel rates measured on
/// this machine (per thread), so predicted seconds = flops / (rate · threads).
public struct CostModel: Sendable, Equatable, Codable {
  /// Flops per second per thread of the exact path, counting 14·N·H·L²·h_padded (the forward
  /// pass and the backward pass with P recomputed).
  public var exactFlopRate: Double
  /// Flops per second per thread of the polynomial path's low-rank GEMMs and features.
  public var polynomialFlopRate: Double
  /// Fixed seconds per call of the polynomial path (planning, fits, statistics).
  public var polynomialOverhead: Double
  /// Where the rates came from ("nominal" or the calibration file's path and date).
  public var source: String

  /// A model from its rates.
  public init(exactFlopRate: Double, polynomialFlopRate: Double, polynomialOverhead: Double, source: String) {
    self.exactFlopRate = exactFlopRate
    self.polynomialFlopRate = polynomialFlopRate
    self.polynomialOverhead = polynomialOverhead
    self.source = source
  }

  /// Rates measured on the development machine (AMD EPYC, AVX-512, 2026-11-24) by
  /// `loragrad-bench calibrate`; used when no calibration file exists.
  public static let nominal = CostModel(
    exactFlopRate: 81e9, polynomialFlopRate: 101e9, polynomialOverhead: 0.002, source: "nominal")

  /// The calibration file: $LORAGRAD_CALIBRATION, or ~/.cache/loragrad/calibration.json.
  public static var calibrationPath: String {
    if let path = ProcessInfo.processInfo.environment["LORAGRAD_CALIBRATION"] { return path }
    return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/loragrad/calibration.json").path
  }

  /// The calibrated model if a readable calibration file exists, else the nominal one.
  public static func load() -> CostModel {
    guard let data = FileManager.default.contents(atPath: calibrationPath),
          let model = try? JSONDecoder().decode(CostModel.self, from: data),
          model.exactFlopRate > 0, model.polynomialFlopRate > 0
    else { return .nominal }
    return model
  }

  /// The exact path's flops as run: 14·N·H·L²·h_padded.
  public static func exactFlops(_ problem: AttentionProblem) -> Double {
    let paddedHead = Double((problem.headWidth + 15) / 16 * 16)
    let l = Double(problem.sequenceLength)
    return 14 * Double(problem.batchCount * problem.heads) * l * l * paddedHead
  }

  /// The polynomial path's flops for N·H·L rows at rank k and head width h (four GEMMs of
  /// k × (h + 3)·h_padded and k × (h + 2)·h_padded per row, as in lgk_poly_*).
  public static func polynomialFlops(rows: Double, rank: Int, headWidth h: Int) -> Double {
    let paddedHead = Double((h + 15) / 16 * 16)
    return rows * 4 * Double(rank) * Double(2 * h + 5) * paddedHead
  }

  /// Predicted seconds of the exact path on `threads` threads.
  public func exactSeconds(_ problem: AttentionProblem, threads: Int) -> Double {
    Self.exactFlops(problem) / (exactFlopRate * Double(threads))
  }

  /// Predicted seconds of the polynomial path at rank k on `threads` threads.
  public func polynomialSeconds(_ problem: AttentionProblem, rank: Int, threads: Int) -> Double {
    let rows = Double(problem.batchCount * problem.heads * problem.sequenceLength)
    return Self.polynomialFlops(rows: rows, rank: rank, headWidth: problem.headWidth) / (polynomialFlopRate * Double(threads))
      + polynomialOverhead
  }

  /// The sequence length above which the polynomial path is predicted to win, for head width h
  /// at rank k (exact ∝ L², polynomial ∝ L).
  public func crossoverLength(headWidth h: Int, rank: Int) -> Double {
    let paddedHead = Double((h + 15) / 16 * 16)
    let exactPerL2 = 14 * paddedHead / exactFlopRate
    let polynomialPerL = 4 * Double(rank) * Double(2 * h + 5) * paddedHead / polynomialFlopRate
    return polynomialPerL / exactPerL2
  }
}
