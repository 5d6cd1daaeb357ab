import LoRAGrad
import XCTest

/// The SGEMM roof measurement: a positive rate for every instruction set the CPU runs, at one and
/// two threads, at one of the sizes asked for; bad arguments are errors.
final class SGEMMRoofTests: XCTestCase {
  func testEveryAvailableInstructionSetHasARate() throws {
    for isa in KernelInstructionSet.available {
      for threads in [1, 2] {
        let roof = try SGEMMRoof.measure(instructionSet: isa, threads: threads, seconds: 0.02, sizes: [16, 48])
        XCTAssertGreaterThan(roof.gflops, 0, "\(isa) × \(threads)")
        XCTAssertTrue([16, 48].contains(roof.size))
        XCTAssertEqual(roof.instructionSet, isa)
        XCTAssertEqual(roof.threads, threads)
      }
    }
  }

  func testBadArgumentsAreErrors() {
    XCTAssertThrowsError(try SGEMMRoof.measure(instructionSet: .portable, threads: 0))
    XCTAssertThrowsError(try SGEMMRoof.measure(instructionSet: .portable, threads: 1, sizes: []))
    XCTAssertThrowsError(try SGEMMRoof.measure(instructionSet: .portable, threads: 1, sizes: [0]))
  }
}
