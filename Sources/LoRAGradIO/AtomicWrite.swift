import LoRAGrad
import Foundation

#if canImport(Glibc)
  import Glibc
  private let systemWrite = Glibc.write
#elseif canImport(Musl)
  import Musl
  private let systemWrite = Musl.write
#elseif canImport(Darwin)
  import Darwin
  private let systemWrite = Darwin.write
#endif

/// Writes a set of files into a directory all-or-nothing: each file goes to a hidden temporary
/// name in the same directory and is renamed into place only after every file was written whole;
/// on any failure every temporary (and every file already renamed) is removed before throwing.
public enum AtomicWrite {
  /// Writes `files` (name inside `directory`, contents) into `directory`, creating it if missing,
  /// then deletes the stale files named in `removing` (if present). Throws `LoRAGradError.fileSystem`
  /// naming the path at fault; then no file of the set is left behind.
  public static func write(
    _ files: [(name: String, bytes: [UInt8])], into directory: String, removing stale: [String] = []
  ) throws {
    for name in files.map(\.name) + stale where name.isEmpty || name.contains("/") || name == "." || name == ".." {
      throw LoRAGradError.invalidArgument(
        argument: "file name", expected: "a plain file name without '/'", given: "'\(name)'")
    }
    let names = files.map(\.name)
    guard Set(names).count == names.count else {
      throw LoRAGradError.invalidArgument(argument: "file names", expected: "distinct names", given: "\(names)")
    }
    try prepareDirectory(directory)
    var temporaries: [(temporary: String, final: String)] = []
    var renamed: [String] = []
    do {
      for (name, bytes) in files {
        let final = FileAccess.join(directory, name)
        let temporary = FileAccess.join(directory, ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try writeWhole(bytes, to: temporary, reportedAs: final)
        temporaries.append((temporary, final))
      }
      for (temporary, final) in temporaries {
        guard rename(temporary, final) == 0 else {
          throw LoRAGradError.fileSystem(path: final, reason: "cannot move the file into place: \(FileAccess.lastError())")
        }
        renamed.append(final)
      }
    } catch {
      for (temporary, _) in temporaries { unlink(temporary) }
      for final in renamed { unlink(final) }
      throw error
    }
    for name in stale where !files.contains(where: { $0.name == name }) {
      let path = FileAccess.join(directory, name)
      let (exists, isDirectory) = FileAccess.kind(of: path)
      if exists && !isDirectory && unlink(path) != 0 {
        throw LoRAGradError.fileSystem(path: path, reason: "cannot remove the stale file: \(FileAccess.lastError())")
      }
    }
  }

  /// Makes sure `directory` exists, is a directory and is writable, creating it (and its parents) if missing.
  private static func prepareDirectory(_ directory: String) throws {
    let (exists, isDirectory) = FileAccess.kind(of: directory)
    if exists {
      guard isDirectory else {
        throw LoRAGradError.fileSystem(path: directory, reason: "exists and is not a directory")
      }
    } else {
      // mkdir -p one component at a time, so the message gives errno's reason ("Not a
      // directory", "Permission denied") and the component at fault, not Foundation's generic text.
      var prefix = directory.hasPrefix("/") ? "/" : ""
      for component in directory.split(separator: "/") {
        prefix += component
        if mkdir(prefix, 0o777) != 0 && errno != EEXIST {
          let at = prefix == directory || prefix + "/" == directory ? "" : " (at \(prefix))"
          throw LoRAGradError.fileSystem(path: directory, reason: "cannot create the directory\(at): \(FileAccess.lastError())")
        }
        prefix += "/"
      }
    }
    guard access(directory, W_OK | X_OK) == 0 else {
      throw LoRAGradError.fileSystem(path: directory, reason: "the directory is not writable: \(FileAccess.lastError())")
    }
  }

  /// Creates `path` (which must not exist) and writes all of `bytes` to it; on failure removes it
  /// again and throws an error naming `reportedAs`.
  private static func writeWhole(_ bytes: [UInt8], to path: String, reportedAs name: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw LoRAGradError.fileSystem(path: name, reason: "cannot create a temporary file: \(FileAccess.lastError())")
    }
    var failure: String?
    bytes.withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let written = systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
        if written < 0 {
          if errno == EINTR { continue }
          failure = FileAccess.lastError()
          return
        }
        offset += written
      }
    }
    if close(descriptor) != 0, failure == nil { failure = FileAccess.lastError() }
    if let failure {
      unlink(path)
      throw LoRAGradError.fileSystem(path: name, reason: "cannot write the file: \(failure)")
    }
  }

  /// The message of the current `errno`.
}
