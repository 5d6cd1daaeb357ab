import Foundation

/// Small file-system helpers shared by the readers and writers.
enum FileAccess {
  /// `directory` and `name` joined with exactly one "/".
  static func join(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
  }

  /// Whether `path` exists, and whether it is a directory.
  static func kind(of path: String) -> (exists: Bool, isDirectory: Bool) {
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
    return (exists, isDirectory.boolValue)
  }

  /// The whole contents of the regular file at `path`; `fileSystem` when it is missing,
  /// a directory or unreadable.
  static func readBytes(_ path: String) throws -> [UInt8] {
    let (exists, isDirectory) = kind(of: path)
    guard exists else { throw LoRAGradError.fileSystem(path: path, reason: "no such file") }
    guard !isDirectory else {
      throw LoRAGradError.fileSystem(path: path, reason: "is a directory, expected a regular file")
    }
    do {
      return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw LoRAGradError.fileSystem(path: path, reason: "cannot read the file: \(error.localizedDescription)")
    }
  }
}
