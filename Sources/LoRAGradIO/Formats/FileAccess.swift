import LoRAGrad
import Foundation

/// Small file-system helpers shared by the readers and writers.
package enum FileAccess {
  /// The reason of the last failed system call, in the C library's words ("No such file or directory").
  static func lastError() -> String { String(cString: strerror(errno)) }

  /// `directory` and `name` joined with exactly one "/".
  package static func join(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
  }

  /// Whether `path` exists, and whether it is a directory.
  static func kind(of path: String) -> (exists: Bool, isDirectory: Bool) {
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
    return (exists, isDirectory.boolValue)
  }

  /// The names in a directory (not "." or ".."), sorted.
  static func entries(of directory: String) throws -> [String] {
    do {
      return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    } catch {
      throw LoRAGradError.fileSystem(path: directory, reason: "cannot list the directory: \(lastError())")
    }
  }

  /// The whole contents of the regular file at `path`; `fileSystem` when it is missing,
  /// a directory or unreadable.
  static func readBytes(_ path: String) throws -> [UInt8] {
    let (exists, isDirectory) = kind(of: path)
    guard exists else { throw LoRAGradError.fileSystem(path: path, reason: "no such file") }
    guard !isDirectory else {
      throw LoRAGradError.fileSystem(path: path, reason: "is a directory, expected a regular file")
    }
    // POSIX reads rather than Data(contentsOf:), which leaks a 4 KiB buffer for every empty file
    // (swift-foundation 6.3, found by AddressSanitizer) and reports errors in generic words.
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw LoRAGradError.fileSystem(path: path, reason: "cannot read the file: \(lastError())")
    }
    defer { close(descriptor) }
    var status = stat()
    var bytes: [UInt8] = []
    if fstat(descriptor, &status) == 0, status.st_size > 0 { bytes.reserveCapacity(Int(status.st_size)) }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count == 0 { return bytes }
      guard count > 0 else {
        if errno == EINTR { continue }
        throw LoRAGradError.fileSystem(path: path, reason: "cannot read the file: \(lastError())")
      }
      bytes.append(contentsOf: chunk[0..<count])
    }
  }
}
