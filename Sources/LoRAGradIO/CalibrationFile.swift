import Foundation
import LoRAGrad

/// The calibration file of the cost model on this machine, written by `loragrad-bench calibrate
/// --write` and read by the command-line tools (the library itself never reads files: its
/// default is `CostModel.nominal`). JSON: {"exact_flop_rate", "polynomial_flop_rate",
/// "polynomial_overhead", "source"}.
public enum CalibrationFile {
  /// $LORAGRAD_CALIBRATION, or ~/.cache/loragrad/calibration.json.
  public static var defaultPath: String {
    if let path = ProcessInfo.processInfo.environment["LORAGRAD_CALIBRATION"] { return path }
    return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/loragrad/calibration.json").path
  }

  /// The model in the file at `path`, or nil when there is no such file; a file that exists but
  /// does not hold a model is an error naming it.
  public static func read(path: String) throws -> CostModel? {
    guard FileAccess.kind(of: path).exists else { return nil }
    let invalid = LoRAGradError.invalidFile(
      path: path, expected: "a calibration written by loragrad-bench calibrate --write (positive rates and a source)")
    guard case .object(let object) = try? JSONValue.parse(FileAccess.readBytes(path)),
      let exact = object["exact_flop_rate"]?.number, let poly = object["polynomial_flop_rate"]?.number,
      let overhead = object["polynomial_overhead"]?.number, case .string(let source)? = object["source"],
      exact > 0, poly > 0, overhead >= 0, exact.isFinite, poly.isFinite, overhead.isFinite
    else { throw invalid }
    return CostModel(exactFlopRate: exact, polynomialFlopRate: poly, polynomialOverhead: overhead, source: source)
  }

  /// The model of this machine: the calibration file if there is one, else the nominal model.
  public static func load() throws -> CostModel { try read(path: defaultPath) ?? .nominal }

  /// Writes `model` to `path` atomically.
  public static func write(_ model: CostModel, path: String) throws {
    let object: JSONObject = [
      "exact_flop_rate": .double(model.exactFlopRate), "polynomial_flop_rate": .double(model.polynomialFlopRate),
      "polynomial_overhead": .double(model.polynomialOverhead), "source": .string(model.source),
    ]
    let url = URL(fileURLWithPath: path)
    try AtomicWrite.write([(name: url.lastPathComponent, bytes: Array((object.description + "\n").utf8))], into: url.deletingLastPathComponent().path)
  }
}
