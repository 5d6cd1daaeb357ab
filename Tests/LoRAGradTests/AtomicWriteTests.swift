import Foundation
@testable import LoRAGrad
import LoRAGradIO
import XCTest

final class AtomicWriteTests: XCTestCase {
  private func contents(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
  }

  func testWritesEveryFileAndCreatesMissingDirectories() throws {
    let directory = ioScratchPath(self, "atomic") + "/nested/out"
    try AtomicWrite.write([("a.bin", [1, 2, 3]), ("b.bin", []), ("c.txt", Array("hello".utf8))], into: directory)
    XCTAssertEqual(contents(directory), ["a.bin", "b.bin", "c.txt"])
    XCTAssertEqual(FileManager.default.contents(atPath: directory + "/a.bin"), Data([1, 2, 3]))
    XCTAssertEqual(FileManager.default.contents(atPath: directory + "/b.bin"), Data())
    XCTAssertEqual(FileManager.default.contents(atPath: directory + "/c.txt"), Data("hello".utf8))
  }

  func testReplacesExistingFilesAndRemovesStaleOnes() throws {
    let directory = ioScratchPath(self, "atomic")
    try AtomicWrite.write([("a.bin", [1]), ("old.bin", [2])], into: directory)
    try AtomicWrite.write([("a.bin", [9, 9])], into: directory, removing: ["old.bin", "never-existed.bin"])
    XCTAssertEqual(contents(directory), ["a.bin"])
    XCTAssertEqual(FileManager.default.contents(atPath: directory + "/a.bin"), Data([9, 9]))
  }

  func testTargetThatIsARegularFileIsAnErrorAndNothingIsWritten() throws {
    let parent = ioScratchPath(self, "atomic")
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    let target = parent + "/out"
    writeIOFixture([7], to: target)
    assertIOError(
      try AtomicWrite.write([("a.bin", [1])], into: target), mentions: [target, "not a directory"],
      matches: isFileSystem)
    XCTAssertEqual(contents(parent), ["out"])
    XCTAssertEqual(FileManager.default.contents(atPath: target), Data([7]))
  }

  func testFailingSecondFileLeavesNoFileAndNoTemporaries() throws {
    let directory = ioScratchPath(self, "atomic")
    // A non-empty directory occupies the second file's final name, so its rename fails.
    try FileManager.default.createDirectory(atPath: directory + "/b.bin/inside", withIntermediateDirectories: true)
    assertIOError(
      try AtomicWrite.write([("a.bin", [1]), ("b.bin", [2]), ("c.bin", [3])], into: directory),
      mentions: [directory + "/b.bin"], matches: isFileSystem)
    XCTAssertEqual(contents(directory), ["b.bin"])
  }

  func testUnwritableDirectoryIsAnError() throws {
    try XCTSkipIf(geteuid() == 0, "root may write anywhere")
    let directory = ioScratchPath(self, "atomic")
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    chmod(directory, 0o500)
    defer { chmod(directory, 0o700) }
    assertIOError(
      try AtomicWrite.write([("a.bin", [1])], into: directory), mentions: [directory, "not writable"],
      matches: isFileSystem)
    XCTAssertEqual(contents(directory), [])
  }

  func testUncreatableDirectoryIsAnError() throws {
    let parent = ioScratchPath(self, "atomic")
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    writeIOFixture([7], to: parent + "/file")
    let directory = parent + "/file/sub"
    assertIOError(
      try AtomicWrite.write([("a.bin", [1])], into: directory), mentions: [directory], matches: isFileSystem)
  }

  func testFileNamesMustBePlainAndDistinct() throws {
    let directory = ioScratchPath(self, "atomic")
    for names in [["a/b"], [""], [".."], ["a", "a"]] {
      XCTAssertThrowsError(try AtomicWrite.write(names.map { ($0, [1]) }, into: directory)) { error in
        guard case .invalidArgument = error as? LoRAGradError else { return XCTFail("\(error)") }
      }
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory))
  }
}
