import Foundation
@testable import LoRAGrad
@testable import LoRAGradIO
import XCTest

/// The safetensors reader and writer (SPEC §5): round trips, the four readable dtypes, and every
/// malformed header as a typed error naming the file and, where there is one, the tensor.
final class SafeTensorsTests: XCTestCase {
  /// A file from a raw header text and data bytes, with no checks.
  private func fixture(_ header: String, _ data: [UInt8]) -> [UInt8] {
    let text = Array(header.utf8)
    var bytes: [UInt8] = []
    var length = UInt64(text.count)
    for _ in 0..<8 {
      bytes.append(UInt8(truncatingIfNeeded: length))
      length >>= 8
    }
    return bytes + text + data
  }

  private func parse(_ bytes: [UInt8]) throws -> SafeTensorsFile { try SafeTensorsFile.parse(data: bytes, name: "model.safetensors") }

  func testRoundTripKeepsBitsOrderAndMetadata() throws {
    let a = ioTestTensor([3, 5], seed: 1), b = ioTestTensor([7], seed: 2)
    let edge = Tensor(checkedShape: [4], scalars: [-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1])
    let bytes = SafeTensorsFile.encode([("w.lora_A.weight", a), ("bias", b), ("edge", edge)], metadata: ["format": "pt", "note": "é"])
    let file = try parse(bytes)
    XCTAssertEqual(file.header.dataOffset % 8, 0, "header padded to 8 bytes as the reference writer does")
    XCTAssertEqual(file.names, ["w.lora_A.weight", "bias", "edge"])
    XCTAssertEqual(file.header.metadata, ["format": "pt", "note": "é"])
    for (name, tensor) in [("w.lora_A.weight", a), ("bias", b), ("edge", edge)] {
      let read = try file.tensor(name)
      XCTAssertEqual(read.shape, tensor.shape)
      XCTAssertEqual(read.scalars.map(\.bitPattern), tensor.scalars.map(\.bitPattern), name)
    }
    // Through the file system too (pread of the header, then of each tensor).
    let path = ioScratchPath(self, "safetensors", suffix: ".safetensors")
    addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    writeIOFixture(bytes, to: path)
    let opened = try SafeTensorsFile.open(path)
    XCTAssertEqual(try opened.tensor("bias").scalars, b.scalars)
  }

  func testReadsF16BF16AndF64AsFloat32() throws {
    // F16: 1, −2, 0.5, 65504, the least subnormal 2⁻²⁴, −0; BF16: 1, −3, 2⁻¹³³ (subnormal); F64: 0.1, −1e30.
    let halves: [UInt16] = [0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000]
    let brains: [UInt16] = [0x3F80, 0xC040, 0x0001]
    let doubles: [Double] = [0.1, -1e30]
    var data: [UInt8] = []
    for h in halves + brains { data += [UInt8(h & 0xFF), UInt8(h >> 8)] }
    data += float64Bytes(doubles)
    let header = """
      {"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},\
      "d":{"dtype":"F64","shape":[2],"data_offsets":[18,34]}}
      """
    let file = try parse(fixture(header, data))
    XCTAssertEqual(try file.tensor("h").scalars, [1, -2, 0.5, 65504, 0x1p-24, -0.0])
    XCTAssertEqual(try file.tensor("h").shape, [2, 3])
    XCTAssertEqual(try file.tensor("b").scalars, [1, -3, Float(bitPattern: 1 << 16)])
    XCTAssertEqual(try file.tensor("d").scalars, [Float(0.1), -1e30])
    // Every binary16 value converts exactly (checked against Float16 where the platform has it).
    #if arch(x86_64) || arch(arm64)
      for bits in UInt16.min...UInt16.max {
        let ours = HalfPrecision.float(fromHalf: bits), theirs = Float(Float16(bitPattern: bits))
        XCTAssertTrue(ours.bitPattern == theirs.bitPattern || (ours.isNaN && theirs.isNaN), "half \(bits)")
      }
    #endif
  }

  func testMalformedHeadersAreTypedErrorsNamingFileAndTensor() {
    let four = float32Bytes([1, 2, 3, 4])
    let cases: [(String, [UInt8], [String])] = [
      (#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,20]}}"#, four, ["\"t\"", "within the 16 data bytes"]),
      (#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, four, ["\"u\"", "overlaps"]),
      (#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"u":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#, four, ["\"u\"", "gap"]),
      (#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#, four, ["cover the 16 data bytes exactly"]),
      (#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, four, ["\"t\"", "12 bytes", "span 16"]),
      (#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"t":{"dtype":"F32","shape":[0],"data_offsets":[16,16]}}"#, four, ["\"t\" twice"]),
      (#"{"t":{"dtype":"F33","shape":[4],"data_offsets":[0,16]}}"#, four, ["\"t\"", "F33"]),
      (#"{"t":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}"#, four, ["\"t\"", "non-negative"]),
      (#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[8,0]}}"#, four, ["\"t\"", "begin ≤ end"]),
      (#"{"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, four, ["\"t\"", "fit"]),
      (#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"extra":1}}"#, four, ["\"t\"", "extra"]),
      (#"{"__metadata__":{"format":1},"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, four, ["__metadata__", "format"]),
      (#"[1,2]"#, four, ["JSON object"]),
      ("{\"t\u{1}\":1}", four, ["UTF-8 JSON"]),
    ]
    for (header, data, mentions) in cases {
      assertIOError(try parse(fixture(header, data)), mentions: ["model.safetensors"] + mentions, matches: isInvalidFile)
    }
    // Non-UTF-8 bytes in the header, a declared length beyond the file, beyond 100 MB, and a stub.
    var bad = fixture(#"{"t":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#, [])
    bad[11] = 0xFF
    assertIOError(try parse(bad), mentions: ["model.safetensors", "UTF-8"], matches: isInvalidFile)
    let truncated = Array(fixture(#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, four).prefix(30))
    assertIOError(try parse(truncated), mentions: ["model.safetensors", "truncated"], matches: isInvalidFile)
    let dataCut = Array(fixture(#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, four).dropLast(1))
    assertIOError(try parse(dataCut), mentions: ["model.safetensors", "\"t\""], matches: isInvalidFile)
    var huge: [UInt8] = [0x01, 0xE1, 0xF5, 0x05, 0, 0, 0, 0] + Array("{}".utf8)  // 100,000,001
    assertIOError(try parse(huge), mentions: ["model.safetensors", "at most 100000000"], matches: isInvalidFile)
    huge = [0, 0, 0, 0, 0, 0, 0, 0x80]
    assertIOError(try parse(huge), mentions: ["model.safetensors"], matches: isInvalidFile)
    assertIOError(try parse([1, 2, 3]), mentions: ["model.safetensors", "3 bytes"], matches: isInvalidFile)
  }

  func testUnreadableDtypeAndMissingTensorAreNamed() throws {
    let file = try parse(fixture(#"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#, [UInt8](repeating: 0, count: 16)))
    assertIOError(try file.tensor("ids"), mentions: ["model.safetensors", "\"ids\"", "I64"], matches: isInvalidFile)
    assertIOError(try file.tensor("nope"), mentions: ["model.safetensors", "\"nope\""], matches: isInvalidFile)
    let big = try parse(fixture(#"{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, float64Bytes([1e300])))
    assertIOError(try big.tensor("d"), mentions: ["\"d\"", "Float32 range"], matches: isInvalidFile)
  }

  func testOpenNeverReadsPastTheFileAndNamesMissingFiles() throws {
    let directory = ioScratchPath(self, "safetensors")
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    assertIOError(try SafeTensorsFile.open(directory + "/absent.safetensors"), mentions: ["absent.safetensors", "no such file"], matches: isFileSystem)
    assertIOError(try SafeTensorsFile.open(directory), mentions: ["is a directory"], matches: isFileSystem)
    // A header length claiming 90 MB in a 20-byte file: an error, without allocating 90 MB.
    let path = directory + "/liar.safetensors"
    writeIOFixture([0x80, 0x96, 0x98, 0x05, 0, 0, 0, 0] + Array("{\"a\":1}    ".utf8) + [0], to: path)
    assertIOError(try SafeTensorsFile.open(path), mentions: ["liar.safetensors", "truncated"], matches: isInvalidFile)
  }
}
