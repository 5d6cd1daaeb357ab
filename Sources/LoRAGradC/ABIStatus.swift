import CLoRAGradABI
import Foundation
import LoRAGrad

/// A failure of a C call before or outside the library: the status and the message to report.
struct ABIFailure: Error {
  /// The lgr_status to return.
  let status: lgr_status
  /// What went wrong, naming the argument or field.
  let message: String

  /// A null pointer where `argument` must point to something.
  static func null(_ argument: String, _ expected: String) -> ABIFailure {
    ABIFailure(status: LGR_INVALID_ARGUMENT, message: "invalid argument \(argument): expected \(expected), got NULL")
  }

  /// An argument outside its domain.
  static func invalid(_ argument: String, _ expected: String, _ given: String) -> ABIFailure {
    ABIFailure(status: LGR_INVALID_ARGUMENT, message: "invalid argument \(argument): expected \(expected), got \(given)")
  }
}

/// The boundary every C entry point goes through: runs `body`, turns every thrown error into a
/// status and a message in `error`, and never lets a Swift error out.
enum ABICall {
  /// LGR_OK when `body` returns, else the status of what it threw, with the message in `error`.
  static func run(_ report: UnsafeMutablePointer<lgr_error>?, _ body: () throws -> Void) -> lgr_status {
    let (status, message): (lgr_status, String)
    do {
      try body()
      (status, message) = (LGR_OK, "")
    } catch let failure as ABIFailure {
      (status, message) = (failure.status, failure.message)
    } catch let failure as LoRAGradError {
      (status, message) = (Self.status(of: failure), failure.description)
    } catch {
      (status, message) = (LGR_INTERNAL, "internal error: \(error)")
    }
    if let report { write(status, message, to: report) }
    return status
  }

  /// The status a library error maps to.
  static func status(of error: LoRAGradError) -> lgr_status {
    switch error {
    case .invalidArgument, .shapeMismatch, .nonFinite, .invalidFile: return LGR_INVALID_ARGUMENT
    case .toleranceUnreachable: return LGR_TOLERANCE_UNREACHABLE
    case .outOfRange: return LGR_OUT_OF_RANGE
    case .resourceExhausted: return LGR_RESOURCE_EXHAUSTED
    case .fileSystem: return LGR_INTERNAL
    }
  }

  /// Fills `error` with the status and the message, cut to 1023 bytes at a UTF-8 character boundary.
  static func write(_ status: lgr_status, _ message: String, to error: UnsafeMutablePointer<lgr_error>) {
    error.pointee.status = Int32(bitPattern: status.rawValue)
    var bytes = Array(message.utf8)
    let capacity = MemoryLayout.size(ofValue: error.pointee.message) - 1
    if bytes.count > capacity {
      var end = capacity
      while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }  // do not split a character
      bytes = Array(bytes[..<end])
    }
    withUnsafeMutableBytes(of: &error.pointee.message) { buffer in
      buffer.copyBytes(from: bytes)
      buffer[bytes.count] = 0
    }
  }
}
