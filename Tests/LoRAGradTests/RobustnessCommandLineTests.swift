import Foundation
@testable import LoRAGrad
import LoRAGradIO
import XCTest

/// Bad input through the `loragrad` executable (issue 5 item 1, SPEC §6): every case exits with
/// code 2, prints exactly one line on stderr naming the file or argument and what was expected,
/// nothing on stdout, and leaves no gradient file (nor temporary) in the output directory.
/// The library-level errors behind most of these are tested in NumPyFormatTests and
/// ProblemDirectoryTests; here each case goes through the whole tool.
final class RobustnessCommandLineTests: XCTestCase {
  private func runTool(_ arguments: [String]) throws -> ToolOutcome { try runLoRAGrad(arguments) }

  // MARK: - Fixtures

  private let (n, l, d, r) = (2, 3, 4, 2)

  /// A valid problem directory (N = 2, L = 3, D = 4, r = 2, q and v adapted, config.json with
  /// heads = 2) and a fresh output path next to it (not created).
  private func problemDirectory() throws -> (input: String, output: String) {
    let input = ioScratchPath(self, "robust-in"), output = ioScratchPath(self, "robust-out")
    var weights: [Projection: Tensor] = [:]
    var adapters: [Projection: LoRAAdapter] = [:]
    for (i, projection) in Projection.allCases.enumerated() {
      weights[projection] = ioTestTensor([d, d], seed: 10 + i)
      if projection != .key {
        adapters[projection] = LoRAAdapter(a: ioTestTensor([r, d], seed: 20 + i), b: ioTestTensor([d, r], seed: 30 + i))
      }
    }
    try AttentionProblem(
      inputs: ioTestTensor([n, l, d], seed: 1), targets: ioTestTensor([n, l, d], seed: 2), frozenWeights: weights,
      adapters: adapters, heads: 2
    ).write(directory: input)
    return (input, output)
  }

  /// A float32 `.npy` file of the given shape (deterministic values) or with the given scalars.
  private func npy(_ shape: [Int], scalars: [Float]? = nil) -> [UInt8] {
    let tensor = scalars.map { try! Tensor(shape: shape, scalars: $0) } ?? ioTestTensor(shape, seed: shape.count)
    return NumPyArray.encode(tensor)
  }

  /// A `.npy` file with the given header dictionary text and data bytes.
  private func npy(header: String, data: [UInt8]) -> [UInt8] { npyFixture(header: header + "\n", data: data) }

  private func replace(_ file: String, in directory: String, with bytes: [UInt8]) {
    writeIOFixture(bytes, to: directory + "/" + file)
  }

  private func remove(_ file: String, in directory: String) throws {
    try FileManager.default.removeItem(atPath: directory + "/" + file)
  }

  // MARK: - The contract of a failed run

  /// Runs the tool and asserts the contract of a rejected run: exit code 2 (no signal), one line
  /// on stderr containing every string of `mentions` (the culprit first), nothing on stdout, and
  /// no gradient file or temporary in `output`.
  @discardableResult
  private func assertRejected(
    _ arguments: [String], mentions: [String], output: String?, _ label: String = "",
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> String {
    let outcome = try runTool(arguments)
    let context = "\(label) \(arguments)"
    if ProcessInfo.processInfo.environment["LORAGRAD_SHOW_MESSAGES"] != nil { print("[\(label)] \(outcome.standardError)", terminator: "") }
    XCTAssertFalse(outcome.signalled, "crashed (signal \(outcome.status)): \(context)\n\(outcome.standardError.suffix(600))", file: file, line: line)
    XCTAssertEqual(outcome.status, 2, "exit code: \(context): \(outcome.standardError)", file: file, line: line)
    XCTAssertEqual(outcome.standardOutput, "", "stdout must be empty: \(context)", file: file, line: line)
    XCTAssertTrue(outcome.standardError.hasSuffix("\n"), "stderr must end its line: \(context)", file: file, line: line)
    let lines = outcome.standardError.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    XCTAssertEqual(lines.count, 1, "exactly one line on stderr: \(context): \(outcome.standardError)", file: file, line: line)
    for text in mentions {
      XCTAssertTrue(
        outcome.standardError.contains(text), "stderr does not mention '\(text)': \(context): \(outcome.standardError)",
        file: file, line: line)
    }
    if let output { assertNoGradientFiles(in: output, context, file: file, line: line) }
    return outcome.standardError
  }

  /// The output directory is absent, or holds no gradient file, loss file or temporary.
  private func assertNoGradientFiles(
    in output: String, _ context: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), isDirectory.boolValue else { return }
    let left = ((try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []).filter {
      $0.hasPrefix("grad_") || $0 == "loss.npy" || $0.contains(".tmp-")
    }
    XCTAssertEqual(left, [], "a failed run left files behind in \(output): \(context)", file: file, line: line)
  }

  /// `grad` on a problem directory after `damage` was applied to a fresh copy, for each damage.
  private func assertEachRejected(
    _ cases: [(label: String, damage: (String) throws -> Void, mentions: (String) -> [String])],
    extra: [String] = [], file: StaticString = #filePath, line: UInt = #line
  ) throws {
    for item in cases {
      let (input, output) = try problemDirectory()
      try item.damage(input)
      try assertRejected(
        ["grad", input, "--out", output, "--threads", "2"] + extra, mentions: item.mentions(input), output: output,
        item.label, file: file, line: line)
    }
  }

  // MARK: - .npy files

  func testTruncatedNpyHeader() throws {
    let valid = npy([n, l, d])
    try assertEachRejected([
      ("empty x.npy", { self.replace("x.npy", in: $0, with: []) }, { ["\($0)/x.npy", "magic"] }),
      ("x.npy cut in the version", { self.replace("x.npy", in: $0, with: Array(valid.prefix(7))) }, { ["\($0)/x.npy", "truncated"] }),
      ("x.npy cut in the length", { self.replace("x.npy", in: $0, with: Array(valid.prefix(9))) }, { ["\($0)/x.npy", "truncated"] }),
      ("x.npy cut in the header", { self.replace("x.npy", in: $0, with: Array(valid.prefix(40))) }, { ["\($0)/x.npy", "truncated"] }),
      ("w_v.npy header length past the end", {
        var bytes = self.npy([4, 4])
        bytes[8] = 0xFF; bytes[9] = 0xFF
        self.replace("w_v.npy", in: $0, with: bytes)
      }, { ["\($0)/w_v.npy", "truncated"] }),
    ])
  }

  func testMalformedNpyHeader() throws {
    let data = float32Bytes([Float](repeating: 1, count: 16))
    let cases: [(String, String, String)] = [
      ("w_q.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)", "header"),
      ("w_q.npy", "{'descr': '<f4' 'fortran_order': False, 'shape': (4, 4)}", "header"),
      ("w_k.npy", "{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"),
      ("w_k.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), 'extra': 1}", "extra"),
      ("lora_a_q.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 8)}", "Fortran"),
      ("lora_b_v.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': [4, 4]}", "shape"),
      ("lora_b_v.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-4, -4)}", "non-negative"),
      ("y.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "99999999999999999999"),
      ("y.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (16,), '\u{e9}': 1}", "ASCII"),
      ("w_v.npy", String(repeating: "(", count: 5000), "nested"),
    ]
    try assertEachRejected(cases.map { (file, header, phrase) in
      ("\(file): \(header.prefix(60))", { self.replace(file, in: $0, with: self.npy(header: header, data: data)) }, { ["\($0)/\(file)", phrase] })
    })
  }

  func testTruncatedOrOverlongNpyData() throws {
    try assertEachRejected([
      ("y.npy data cut short", { self.replace("y.npy", in: $0, with: Array(self.npy([2, 3, 4]).dropLast(5))) },
       { ["\($0)/y.npy", "truncated"] }),
      ("w_k.npy trailing bytes", { self.replace("w_k.npy", in: $0, with: self.npy([4, 4]) + [0, 0, 0, 0]) },
       { ["\($0)/w_k.npy", "trailing"] }),
      ("lora_a_v.npy header only", { self.replace("lora_a_v.npy", in: $0, with: Array(self.npy([2, 4]).dropLast(32))) },
       { ["\($0)/lora_a_v.npy", "truncated"] }),
    ])
  }

  func testWrongMagicOrVersion() throws {
    var version4 = npy([4, 4])
    version4[6] = 4
    var pickled = npy([2, 3, 4])
    pickled[0] = 0x80  // a pickle protocol byte where \x93 belongs (np.save(allow_pickle) of an object)
    try assertEachRejected([
      ("text in x.npy", { self.replace("x.npy", in: $0, with: Array("x,y\n1,2\n".utf8)) }, { ["\($0)/x.npy", "magic"] }),
      ("pickle in y.npy", { self.replace("y.npy", in: $0, with: pickled) }, { ["\($0)/y.npy", "magic"] }),
      ("version 4.0 in w_q.npy", { self.replace("w_q.npy", in: $0, with: version4) }, { ["\($0)/w_q.npy", "4.0"] }),
      ("npz (zip) as lora_b_q.npy", { self.replace("lora_b_q.npy", in: $0, with: [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 60)) },
       { ["\($0)/lora_b_q.npy", "magic"] }),
    ])
  }

  func testBigEndianData() throws {
    try assertEachRejected(["x.npy": (">f4", [n, l, d]), "lora_a_q.npy": (">f8", [r, d])].map { file, spec in
      let header = "{'descr': '\(spec.0)', 'fortran_order': False, 'shape': \(NumPyShape(spec.1)), }"
      let size = spec.0 == ">f4" ? 4 : 8
      let bytes = npy(header: header, data: [UInt8](repeating: 0x3F, count: size * spec.1.reduce(1, *)))
      return ("\(file) \(spec.0)", { self.replace(file, in: $0, with: bytes) }, { ["\($0)/\(file)", "big-endian", spec.0] })
    })
  }

  func testIntegerAndOtherDTypes() throws {
    let cases: [(String, String, Int)] = [("x.npy", "<i4", 4), ("y.npy", "<i8", 8), ("w_q.npy", "|u1", 1), ("w_v.npy", "|b1", 1),
                                         ("lora_b_v.npy", "<f2", 2), ("lora_a_q.npy", "<c8", 8)]
    let shapes = ["x.npy": [n, l, d], "y.npy": [n, l, d], "w_q.npy": [d, d], "w_v.npy": [d, d], "lora_b_v.npy": [d, r], "lora_a_q.npy": [r, d]]
    try assertEachRejected(cases.map { file, descr, size in
      let shape = shapes[file]!
      let header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(NumPyShape(shape)), }"
      let bytes = npy(header: header, data: [UInt8](repeating: 1, count: size * shape.reduce(1, *)))
      return ("\(file) \(descr)", { self.replace(file, in: $0, with: bytes) }, { ["\($0)/\(file)", "unsupported dtype", descr] })
    })
  }

  // MARK: - Shapes across files

  func testInputAndTargetShapesDisagree() throws {
    try assertEachRejected([
      ("y longer", { self.replace("y.npy", in: $0, with: self.npy([2, 4, 4])) }, { ["\($0)/y.npy", "[2, 3, 4]", "[2, 4, 4]"] }),
      ("y fewer sequences", { self.replace("y.npy", in: $0, with: self.npy([1, 3, 4])) }, { ["\($0)/y.npy", "[2, 3, 4]"] }),
      ("y 2-D for a 3-D x", { self.replace("y.npy", in: $0, with: self.npy([3, 4])) }, { ["\($0)/y.npy", "[2, 3, 4]"] }),
      ("x 4-D", { self.replace("x.npy", in: $0, with: self.npy([1, 2, 3, 4])) }, { ["\($0)/x.npy", "[N, L, D]"] }),
      ("x 1-D", { self.replace("x.npy", in: $0, with: self.npy([24])) }, { ["\($0)/x.npy", "[N, L, D]"] }),
      ("x 0-D", { self.replace("x.npy", in: $0, with: self.npy([])) }, { ["\($0)/x.npy", "[N, L, D]"] }),
      ("x and y both wider than w", {
        self.replace("x.npy", in: $0, with: self.npy([2, 3, 8]))
        self.replace("y.npy", in: $0, with: self.npy([2, 3, 8]))
      }, { ["\($0)/x.npy", "[N, L, 4]", "[2, 3, 8]"] }),
    ])
  }

  func testFrozenWeightsNotDByD() throws {
    try assertEachRejected([
      ("w_q [4, 3]", { self.replace("w_q.npy", in: $0, with: self.npy([4, 3])) }, { ["\($0)/w_q.npy", "[4, 4]", "[4, 3]"] }),
      ("w_k [5, 5]", { self.replace("w_k.npy", in: $0, with: self.npy([5, 5])) }, { ["\($0)/w_k.npy", "[4, 4]", "[5, 5]"] }),
      ("w_v [1, 4, 4]", { self.replace("w_v.npy", in: $0, with: self.npy([1, 4, 4])) }, { ["\($0)/w_v.npy", "[4, 4]"] }),
      ("w_v [16]", { self.replace("w_v.npy", in: $0, with: self.npy([16])) }, { ["\($0)/w_v.npy", "[4, 4]"] }),
    ])
  }

  func testAdapterShapesAndRanksDisagree() throws {
    try assertEachRejected([
      ("lora_a_q wrong D", { self.replace("lora_a_q.npy", in: $0, with: self.npy([2, 5])) }, { ["\($0)/lora_a_q.npy", "[r, 4]"] }),
      ("lora_b_q rank differs from its A", { self.replace("lora_b_q.npy", in: $0, with: self.npy([4, 3])) },
       { ["\($0)/lora_b_q.npy", "[4, 2]", "[4, 3]"] }),
      ("lora_b_v transposed", { self.replace("lora_b_v.npy", in: $0, with: self.npy([2, 4])) }, { ["\($0)/lora_b_v.npy", "[4, 2]"] }),
      ("v adapter of rank 3 next to q of rank 2", {
        self.replace("lora_a_v.npy", in: $0, with: self.npy([3, 4]))
        self.replace("lora_b_v.npy", in: $0, with: self.npy([4, 3]))
      }, { ["\($0)/lora_a_v.npy", "r = 2"] }),
      ("rank 0 adapter", {
        self.replace("lora_a_q.npy", in: $0, with: self.npy([0, 4]))
        self.replace("lora_b_q.npy", in: $0, with: self.npy([4, 0]))
      }, { ["\($0)/lora_a_q.npy", "[r, 4]"] }),
      ("lora_a_q 3-D", { self.replace("lora_a_q.npy", in: $0, with: self.npy([1, 2, 4])) }, { ["\($0)/lora_a_q.npy"] }),
    ])
  }

  func testAdapterWithOnlyOneFactor() throws {
    try assertEachRejected([
      ("A without B", { try self.remove("lora_b_q.npy", in: $0) }, { ["\($0)/lora_b_q.npy", "lora_a_q.npy"] }),
      ("B without A", { try self.remove("lora_a_v.npy", in: $0) }, { ["\($0)/lora_a_v.npy", "lora_b_v.npy"] }),
      ("an A for the unadapted k", { self.replace("lora_a_k.npy", in: $0, with: self.npy([2, 4])) },
       { ["\($0)/lora_b_k.npy", "lora_a_k.npy"] }),
    ])
  }

  // MARK: - config.json

  func testHeadsNotDividingD() throws {
    let cases: [(String, String)] = [(#"{"heads": 3}"#, "3"), (#"{"heads": 8}"#, "8"), (#"{"heads": 5, "alpha": 1}"#, "5")]
    try assertEachRejected(cases.map { text, heads in
      ("heads \(heads)", { self.replace("config.json", in: $0, with: Array(text.utf8)) },
       { ["\($0)/config.json", "heads", "D = 4", heads] })
    })
  }

  func testMalformedConfig() throws {
    let cases: [(String, [UInt8], String)] = [
      ("truncated", Array(#"{"heads": 2"#.utf8), "JSON"),
      ("empty", [], "JSON"),
      ("binary", [0x00, 0xFF, 0xFE, 0x7B], "JSON"),
      ("array", Array("[1, 2]".utf8), "JSON object"),
      ("bare number", Array("2".utf8), "JSON"),
      ("heads as string", Array(#"{"heads": "2"}"#.utf8), "heads"),
      ("heads negative", Array(#"{"heads": -2}"#.utf8), "heads"),
      ("heads fractional", Array(#"{"heads": 2.5}"#.utf8), "heads"),
      ("heads boolean", Array(#"{"heads": true}"#.utf8), "heads"),
      ("heads huge", Array(#"{"heads": 1e300}"#.utf8), "heads"),
      ("alpha object", Array(#"{"alpha": {"value": 1}}"#.utf8), "alpha"),
      ("alpha overflows", Array(#"{"alpha": 1e999}"#.utf8), "alpha"),
      ("beta zero", Array(#"{"beta": 0}"#.utf8), "beta"),
      ("beta array", Array(#"{"beta": [0.5]}"#.utf8), "beta"),
      ("trailing garbage", Array(#"{"heads": 2} x"#.utf8), "JSON"),
      ("NaN literal", Array(#"{"alpha": NaN}"#.utf8), "JSON"),
    ]
    try assertEachRejected(cases.map { label, bytes, phrase in
      (label, { self.replace("config.json", in: $0, with: bytes) }, { ["\($0)/config.json", phrase] })
    })
  }

  // MARK: - Values

  /// NaN, +Inf and −Inf in every kind of input file, and a float64 value beyond Float32's range.
  func testNonFiniteValuesInEveryInputFile() throws {
    let files: [(String, [Int])] = [("x.npy", [n, l, d]), ("y.npy", [n, l, d]), ("w_q.npy", [d, d]), ("w_k.npy", [d, d]),
                                    ("w_v.npy", [d, d]), ("lora_a_q.npy", [r, d]), ("lora_b_q.npy", [d, r]),
                                    ("lora_a_v.npy", [r, d]), ("lora_b_v.npy", [d, r])]
    var cases: [(label: String, damage: (String) throws -> Void, mentions: (String) -> [String])] = []
    for (file, shape) in files {
      for (name, value) in [("NaN", Float.nan), ("+Inf", Float.infinity), ("-Inf", -Float.infinity)] {
        var scalars = ioTestTensor(shape, seed: 3).scalars
        let index = scalars.count - 1
        scalars[index] = value
        let bytes = npy(shape, scalars: scalars)
        cases.append(("\(name) in \(file)", { self.replace(file, in: $0, with: bytes) }, { ["\($0)/\(file)", "index \(index)"] }))
      }
    }
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 4), }"
    let wide = npy(header: header, data: float64Bytes((0..<16).map { $0 == 5 ? 1e39 : Double($0) }))
    cases.append(("float64 1e39 in w_k.npy", { self.replace("w_k.npy", in: $0, with: wide) }, { ["\($0)/w_k.npy", "Float32 range", "index 5"] }))
    try assertEachRejected(cases)
  }

  func testZeroLengthSequences() throws {
    func both(_ shape: [Int]) -> (String) -> Void {
      { self.replace("x.npy", in: $0, with: self.npy(shape)); self.replace("y.npy", in: $0, with: self.npy(shape)) }
    }
    try assertEachRejected([
      ("L = 0", both([2, 0, 4]), { ["\($0)/x.npy", "L ≥ 1", "[2, 0, 4]"] }),
      ("N = 0", both([0, 3, 4]), { ["\($0)/x.npy", "N ≥ 1", "[0, 3, 4]"] }),
      ("2-D with L = 0", both([0, 4]), { ["\($0)/x.npy", "L ≥ 1", "[0, 4]"] }),
      ("D = 0", { dir in
        both([2, 3, 0])(dir)
        for w in ["w_q.npy", "w_k.npy", "w_v.npy"] { self.replace(w, in: dir, with: self.npy([0, 0])) }
        for f in ["lora_a_q.npy", "lora_a_v.npy"] { self.replace(f, in: dir, with: self.npy([2, 0])) }
        for f in ["lora_b_q.npy", "lora_b_v.npy"] { self.replace(f, in: dir, with: self.npy([0, 2])) }
      }, { ["\($0)/w_q.npy", "D ≥ 1"] }),
    ])
  }

  // MARK: - Files and directories

  func testMissingFilesAndDirectories() throws {
    var cases: [(label: String, damage: (String) throws -> Void, mentions: (String) -> [String])] = []
    for file in ["x.npy", "y.npy", "w_q.npy", "w_k.npy", "w_v.npy"] {
      let reason = file == "y.npy" ? "dz.npy" : "no such file"  // a problem needs y.npy or dz.npy
      cases.append(("missing \(file)", { try self.remove(file, in: $0) }, { ["\($0)/\(file)", reason] }))
    }
    cases.append(("x.npy is a directory", { dir in
      try self.remove("x.npy", in: dir)
      try FileManager.default.createDirectory(atPath: dir + "/x.npy", withIntermediateDirectories: false)
    }, { ["\($0)/x.npy", "directory"] }))
    cases.append(("config.json is a directory", { dir in
      try self.remove("config.json", in: dir)
      try FileManager.default.createDirectory(atPath: dir + "/config.json", withIntermediateDirectories: false)
    }, { ["\($0)/config.json", "directory"] }))
    cases.append(("dangling symlink for w_v.npy", { dir in
      try self.remove("w_v.npy", in: dir)
      try FileManager.default.createSymbolicLink(atPath: dir + "/w_v.npy", withDestinationPath: dir + "/nowhere.npy")
    }, { ["\($0)/w_v.npy"] }))
    try assertEachRejected(cases)

    let (input, output) = try problemDirectory()
    try assertRejected(["grad", input + "/absent", "--out", output], mentions: [input + "/absent", "no such"], output: output)
    try assertRejected(["grad", input + "/x.npy", "--out", output], mentions: [input + "/x.npy", "not a directory"], output: output)
    try assertRejected(["regime", input + "/absent"], mentions: [input + "/absent"], output: nil)
  }

  func testUnreadableInputFile() throws {
    try XCTSkipIf(geteuid() == 0, "root reads files whatever their mode, so an unreadable file cannot be made")
    let (input, output) = try problemDirectory()
    chmod(input + "/w_q.npy", 0)
    defer { chmod(input + "/w_q.npy", 0o644) }
    try assertRejected(["grad", input, "--out", output], mentions: [input + "/w_q.npy"], output: output)
  }

  func testOutputPathThatIsAFileOrUnderAFile() throws {
    let (input, output) = try problemDirectory()
    writeIOFixture(Array("keep me".utf8), to: output)
    try assertRejected(["grad", input, "--out", output], mentions: [output, "not a directory"], output: nil)
    XCTAssertEqual(FileManager.default.contents(atPath: output), Data("keep me".utf8), "the file must be untouched")
    try assertRejected(["grad", input, "--out", output + "/sub"], mentions: [output + "/sub"], output: nil)
    XCTAssertEqual(FileManager.default.contents(atPath: output), Data("keep me".utf8))
  }

  func testOutputDirectoryNotWritable() throws {
    try XCTSkipIf(geteuid() == 0, "root may write into a directory of mode 0500 (see testOutputUnderProcIsNotWritable)")
    let (input, output) = try problemDirectory()
    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
    chmod(output, 0o500)
    defer { chmod(output, 0o700) }
    try assertRejected(["grad", input, "--out", output], mentions: [output, "not writable"], output: output)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: output), [])
  }

  /// An output path no user can create, root included: /proc accepts no new directories.
  func testOutputUnderProcIsNotWritable() throws {
    try XCTSkipUnless(FileManager.default.fileExists(atPath: "/proc/self"), "no /proc on this system")
    let (input, _) = try problemDirectory()
    let output = "/proc/loragrad-robustness-\(getpid())"
    try assertRejected(["grad", input, "--out", output], mentions: [output], output: output)
    XCTAssertFalse(FileManager.default.fileExists(atPath: output))
  }

  /// The final name of one gradient file is taken by a non-empty directory, so its rename fails
  /// after every file was written under a temporary name: none may remain.
  func testFailureWhileMovingFilesIntoPlaceLeavesNothing() throws {
    let (input, output) = try problemDirectory()
    try FileManager.default.createDirectory(atPath: output + "/grad_lora_b_v.npy/occupied", withIntermediateDirectories: true)
    let outcome = try runTool(["grad", input, "--out", output])
    XCTAssertEqual(outcome.status, 2, outcome.standardError)
    XCTAssertEqual(outcome.standardOutput, "")
    XCTAssertEqual(outcome.standardError.split(separator: "\n").count, 1, outcome.standardError)
    XCTAssertTrue(outcome.standardError.contains(output + "/grad_lora_b_v.npy"), outcome.standardError)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: output), ["grad_lora_b_v.npy"])
  }

  // MARK: - Options

  func testToleranceOutsideTheOpenUnitInterval() throws {
    let (input, output) = try problemDirectory()
    for value in ["1", "-0.5", "nan", "inf", "-inf", "1e-400", "abc", "", "0x1p1"] {
      try assertRejected(["grad", input, "--out", output, "--method", "poly", "--tol", value], mentions: ["--tol", "(0, 1)"], output: output, value)
      try assertRejected(["regime", input, "--tol=\(value)"], mentions: ["--tol", "(0, 1)"], output: nil, value)
    }
    try assertRejected(["grad", input, "--out", output, "--tol"], mentions: ["--tol", "a value"], output: output)
  }

  func testThreadCountsBelowOne() throws {
    let (input, output) = try problemDirectory()
    for value in ["-1", "-0", "4097", "two", "1.5", ""] {
      try assertRejected(["grad", input, "--out", output, "--threads", value], mentions: ["--threads"], output: output, value)
    }
    try assertRejected(["regime", input, "--threads", "0"], mentions: ["--threads"], output: nil)
    try assertRejected(["grad", input, "--out", output, "--backend", "openmp", "--threads", "0"], mentions: ["--threads"], output: output)
  }

  func testUnknownBackendOrMethod() throws {
    let (input, output) = try problemDirectory()
    for value in ["Dispatch", "OPENMP", "", "gpu"] {
      try assertRejected(["grad", input, "--out", output, "--backend", value], mentions: ["--backend", "dispatch, openmp, serial"], output: output, value)
    }
    for value in ["Exact", "polynomial", "", "auto "] {
      try assertRejected(["grad", input, "--out", output, "--method", value], mentions: ["--method", "exact, poly, auto, reference"], output: output, value)
    }
    try assertRejected(["grad", input, "--out", output, "--check", "-1"], mentions: ["--check"], output: output)
    try assertRejected(["grad", input, "--out", output, "--method"], mentions: ["--method", "a value"], output: output)
  }

  // MARK: - Numbers beyond Float32 (a finite config that must not crash the tool)

  /// Finite but huge α or β in config.json: β or α/r beyond Float32 is refused by name; α = 1e20
  /// keeps every weight finite but overflows the logits, so `poly` refuses (R far beyond any degree),
  /// `exact` and `auto` report the overflow; each exits 2 with one line and writes nothing, and
  /// `regime` answers with the exact verdict.
  func testHugeButFiniteConfigIsRefusedWithoutWritingAnything() throws {
    for (config, method, mention) in [
      (#"{"alpha": 1e20}"#, "auto", "Float32"), (#"{"alpha": 1e20}"#, "poly", "R = "),
      (#"{"alpha": 1e20}"#, "exact", "Float32"), (#"{"beta": 1e39}"#, "exact", "beta"),
      (#"{"alpha": 1e45}"#, "auto", "alpha"),
    ] {
      let (input, output) = try problemDirectory()
      replace("config.json", in: input, with: Array(config.utf8))
      let label = "\(config) --method \(method)"
      _ = try assertRejected(["grad", input, "--out", output, "--method", method], mentions: [mention], output: output, label)
      let regime = try runTool(["regime", input])
      XCTAssertFalse(regime.signalled, "regime with \(config) crashed: \(regime.standardError.prefix(300))")
      if config.contains("1e20") {
        XCTAssertEqual(regime.status, 0, "\(label): \(regime.standardError)")
        XCTAssertTrue(regime.standardOutput.contains(#""verdict":"exact""#), regime.standardOutput)
      }
    }
  }
}

/// A shape written like a Python tuple: "(2, 3)", "(4,)", "()".
private func NumPyShape(_ shape: [Int]) -> String {
  "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
}
