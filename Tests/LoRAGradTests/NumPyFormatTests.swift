import Foundation
@testable import LoRAGrad
import LoRAGradIO
import XCTest

final class NumPyFormatTests: XCTestCase {
  private let fixtureName = "/fixtures/sample.npy"
  private let f4Header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"

  private func assertInvalid(_ bytes: [UInt8], mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
    assertIOError(
      try NumPyArray.parse(data: bytes, name: fixtureName), mentions: [fixtureName] + mentions, file: file, line: line,
      matches: isInvalidFile)
  }

  // MARK: - Writing and round trips

  func testFloat32RoundTripForEveryRank() throws {
    for shape in [[], [1], [5], [2, 3], [2, 3, 4], [0, 3], [1, 1, 1, 2]] {
      let tensor = ioTestTensor(shape, seed: shape.count)
      let bytes = NumPyArray.encode(tensor)
      XCTAssertEqual(try NumPyArray.parse(data: bytes, name: fixtureName), tensor, "shape \(shape)")
      XCTAssertEqual(Array(bytes[0..<8]), [0x93] + Array("NUMPY".utf8) + [1, 0])
      let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      XCTAssertEqual((10 + headerLength) % 64, 0, "header not 64-byte aligned for \(shape)")
      XCTAssertEqual(bytes[10 + headerLength - 1], 0x0A, "header does not end in a newline")
      XCTAssertEqual(bytes.count, 10 + headerLength + 4 * tensor.count)
    }
  }

  func testEncodedHeaderIsNumPyStyle() {
    let bytes = NumPyArray.encode(ioTestTensor([3], seed: 1))
    let header = String(decoding: bytes[10..<(bytes.count - 12)], as: UTF8.self)
    XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }  "), header)
    XCTAssertTrue(header.hasSuffix(" \n"))
  }

  func testSpecialValuesRoundTripBitExactly() throws {
    let values: [Float] = [-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, 1e-38, 3.1415927]
    let parsed = try NumPyArray.parse(data: NumPyArray.encode(Tensor(shape: [6], scalars: values)), name: fixtureName)
    XCTAssertEqual(parsed.scalars.map(\.bitPattern), values.map(\.bitPattern))
  }

  func testScalarLossRoundTripsInFloat64() throws {
    let path = ioScratchPath(self, "npy", suffix: ".npy")
    let loss = 0.1 + 1e-12
    writeIOFixture(NumPyArray.encodeScalar(loss), to: path)
    XCTAssertEqual(try NumPyArray.readScalar(path: path), loss)
    XCTAssertEqual(try NumPyArray.read(path: path).shape, [])
    let text = String(decoding: NumPyArray.encodeScalar(loss).prefix(64), as: UTF8.self)
    XCTAssertTrue(text.contains("'descr': '<f8'") && text.contains("'shape': ()"), text)
  }

  func testReadsFromFile() throws {
    let path = ioScratchPath(self, "npy", suffix: ".npy")
    let tensor = ioTestTensor([4, 3], seed: 7)
    writeIOFixture(NumPyArray.encode(tensor), to: path)
    XCTAssertEqual(try NumPyArray.read(path: path), tensor)
  }

  // MARK: - Hand-built fixtures

  func testVersion1Fixture() throws {
    let bytes = npyFixture(header: f4Header + "   \n", data: float32Bytes([1, 2, 3, 4]))
    XCTAssertEqual(
      try NumPyArray.parse(data: bytes, name: fixtureName), try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
  }

  func testVersion2FixtureHasFourByteHeaderLength() throws {
    let bytes = npyFixture(major: 2, header: f4Header + "\n", data: float32Bytes([1, 2, 3, 4]))
    XCTAssertEqual(try NumPyArray.parse(data: bytes, name: fixtureName).scalars, [1, 2, 3, 4])
  }

  func testVersion3FixtureHasUTF8Header() throws {
    let bytes = npyFixture(
      major: 3, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } \n", data: float32Bytes([5, 6, 7]))
    XCTAssertEqual(try NumPyArray.parse(data: bytes, name: fixtureName), try Tensor(shape: [3], scalars: [5, 6, 7]))
  }

  func testFloat64DataIsRoundedToFloat32() throws {
    let values = [0.1, -2.5, 1e-3, 123456789.0]
    let bytes = npyFixture(
      header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }\n", data: float64Bytes(values))
    XCTAssertEqual(try NumPyArray.parse(data: bytes, name: fixtureName).scalars, values.map { Float($0) })
  }

  func testZeroDimensionalArray() throws {
    let bytes = npyFixture(
      header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", data: float32Bytes([2.5]))
    let tensor = try NumPyArray.parse(data: bytes, name: fixtureName)
    XCTAssertEqual(tensor.shape, [])
    XCTAssertEqual(tensor.scalars, [2.5])
  }

  func testOneDimensionalTrailingCommaShape() throws {
    let bytes = npyFixture(
      header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", data: float32Bytes([1, 2, 3, 4]))
    XCTAssertEqual(try NumPyArray.parse(data: bytes, name: fixtureName).shape, [4])
  }

  func testKeysInAnyOrderWithArbitraryWhitespace() throws {
    let header = "{ \"shape\" :( 1 ,\t2 , 2 ,) ,'fortran_order':False,\n 'descr' : '=f4' }  \n"
    let tensor = try NumPyArray.parse(
      data: npyFixture(header: header, data: float32Bytes([1, 2, 3, 4])), name: fixtureName)
    XCTAssertEqual(tensor.shape, [1, 2, 2])
  }

  func testPython2LongIntegerShape() throws {
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1L, 2L), }\n"
    XCTAssertEqual(
      try NumPyArray.parse(data: npyFixture(header: header, data: float64Bytes([1, 2])), name: fixtureName).shape,
      [1, 2])
  }

  func testEmptyArray() throws {
    let bytes = npyFixture(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }\n", data: [])
    XCTAssertEqual(try NumPyArray.parse(data: bytes, name: fixtureName).shape, [0, 3])
  }

  // MARK: - Errors

  func testWrongMagic() {
    var bytes = npyFixture(header: f4Header, data: float32Bytes([1, 2, 3, 4]))
    bytes[1] = UInt8(ascii: "X")
    assertInvalid(bytes, mentions: ["magic"])
    assertInvalid(Array("not a numpy file".utf8), mentions: ["magic"])
    assertInvalid([], mentions: ["magic"])
  }

  func testUnsupportedVersion() {
    assertInvalid(
      npyFixture(major: 4, header: f4Header, data: float32Bytes([1, 2, 3, 4])), mentions: ["version", "4.0"])
    assertInvalid(
      npyFixture(major: 1, minor: 1, header: f4Header, data: float32Bytes([1, 2, 3, 4])), mentions: ["1.1"])
  }

  func testTruncatedHeader() {
    let bytes = npyFixture(header: f4Header + "\n", data: float32Bytes([1, 2, 3, 4]))
    assertInvalid(Array(bytes.prefix(40)), mentions: ["truncated"])
    assertInvalid(Array(bytes.prefix(7)), mentions: ["truncated"])
    assertInvalid(Array(bytes.prefix(9)), mentions: ["truncated"])
  }

  func testMalformedHeaderDictionary() {
    for header in [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)",
      "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 2)}",
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2)}",
      "{'descr: '<f4', 'fortran_order': False, 'shape': (2, 2)}",
      "['descr', '<f4']",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)} extra",
      "",
    ] {
      assertInvalid(npyFixture(header: header, data: float32Bytes([1, 2, 3, 4])), mentions: ["header"])
    }
  }

  func testDeeplyNestedHeaderIsRejectedNotOverflowed() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 10_000) + "}"
    assertInvalid(npyFixture(major: 2, header: header, data: []), mentions: ["nested"])
  }

  func testMissingKey() {
    let header = "{'descr': '<f4', 'fortran_order': False}"
    assertInvalid(npyFixture(header: header, data: float32Bytes([1])), mentions: ["missing key 'shape'"])
  }

  func testUnknownOrRepeatedKey() {
    let extra = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'colour': 'red'}"
    assertInvalid(npyFixture(header: extra, data: float32Bytes([1])), mentions: ["colour"])
    let twice = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}"
    assertInvalid(npyFixture(header: twice, data: float32Bytes([1])), mentions: ["twice"])
  }

  func testBigEndianIsUnsupportedByteOrder() {
    for descr in [">f4", ">f8"] {
      let header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }"
      assertInvalid(
        npyFixture(header: header, data: [0, 0, 0, 0, 0, 0, 0, 0]), mentions: ["unsupported byte order", descr])
    }
  }

  func testIntegerAndOtherDTypesAreUnsupported() {
    for descr in ["'<i4'", "'<i8'", "'|u1'", "'|b1'", "'<f2'", "'<c8'", "[('a', '<f4')]", "'<U3'"] {
      let header = "{'descr': \(descr), 'fortran_order': False, 'shape': (1,), }"
      assertInvalid(npyFixture(header: header, data: [0, 0, 0, 0]), mentions: ["unsupported dtype"])
    }
  }

  func testFortranOrderIsRejected() {
    let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"
    assertInvalid(npyFixture(header: header, data: float32Bytes([1, 2, 3, 4])), mentions: ["Fortran"])
  }

  func testNegativeShape() {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }"
    assertInvalid(npyFixture(header: header, data: float32Bytes([1, 2])), mentions: ["non-negative", "(-1, 2)"])
  }

  func testShapeThatIsNotATuple() {
    for shape in ["(4)", "[4]", "4", "('4',)", "(4.0,)"] {
      let header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
      assertInvalid(npyFixture(header: header, data: float32Bytes([1, 2, 3, 4])), mentions: ["shape"])
    }
  }

  func testOverflowingShape() {
    let huge = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }"
    assertInvalid(npyFixture(header: huge, data: []), mentions: ["99999999999999999999999"])
    let product = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
    assertInvalid(npyFixture(header: product, data: []), mentions: ["fits in memory"])
    let bytes = "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }"
    assertInvalid(npyFixture(header: bytes, data: []), mentions: ["fits in memory"])
  }

  func testDataShorterThanShape() {
    assertInvalid(
      npyFixture(header: f4Header, data: float32Bytes([1, 2, 3])), mentions: ["16 data bytes", "truncated"])
  }

  func testDataLongerThanShape() {
    assertInvalid(
      npyFixture(header: f4Header, data: float32Bytes([1, 2, 3, 4, 5])), mentions: ["16 data bytes", "trailing"])
  }

  func testMissingFileAndDirectoryAreFileSystemErrors() {
    let path = ioScratchPath(self, "npy")
    assertIOError(
      try NumPyArray.read(path: path + "/absent.npy"), mentions: [path + "/absent.npy"], matches: isFileSystem)
    XCTAssertNoThrow(try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true))
    assertIOError(try NumPyArray.read(path: path), mentions: [path, "directory"], matches: isFileSystem)
  }

  func testFileErrorsNameTheFile() {
    let path = ioScratchPath(self, "npy", suffix: ".npy")
    writeIOFixture(
      npyFixture(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]), to: path)
    assertIOError(try NumPyArray.read(path: path), mentions: [path, "byte order"], matches: isInvalidFile)
  }

  /// Every truncation and many random corruptions of a valid file either parse or throw `invalidFile`.
  func testCorruptedInputNeverTraps() {
    let valid = NumPyArray.encode(ioTestTensor([2, 3], seed: 3))
    for length in 0..<valid.count {
      XCTAssertThrowsError(try NumPyArray.parse(data: Array(valid.prefix(length)), name: fixtureName))
    }
    var state: UInt64 = 0x1234_5678
    func next() -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(truncatingIfNeeded: state >> 33)
    }
    for _ in 0..<3000 {
      var bytes = valid
      for _ in 0...(next() % 3) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
      do { _ = try NumPyArray.parse(data: bytes, name: fixtureName) } catch let error as LoRAGradError {
        XCTAssertTrue(isInvalidFile(error), "\(error)")
      } catch { XCTFail("unexpected \(error)") }
    }
  }
}
