import Foundation
import LoRAGrad
import LoRAGradIO

/// A table of benchmark results, written as RFC 4180 CSV (fields quoted when they need it).
public struct CSVTable {
  /// The header row.
  public let columns: [String]
  /// The data rows, each as many fields as there are columns.
  public private(set) var rows: [[String]] = []

  /// An empty table with these columns.
  public init(columns: [String]) { self.columns = columns }

  /// Appends one row.
  public mutating func append(_ row: [String]) { rows.append(row) }

  /// The whole table as CSV text.
  public var text: String {
    ([columns] + rows).map { $0.map(Self.quoted).joined(separator: ",") }.joined(separator: "\n") + "\n"
  }

  /// Writes the table into `directory/name` atomically.
  public func write(to directory: String, name: String) throws {
    try AtomicWrite.write([(name: name, bytes: Array(text.utf8))], into: directory)
  }

  private static func quoted(_ field: String) -> String {
    guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}
