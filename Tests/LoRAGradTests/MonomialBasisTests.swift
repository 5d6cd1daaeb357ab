import Foundation
import LoRAGrad
import XCTest

final class MonomialBasisTests: XCTestCase {
  func testRankIsBinomialAndPrefixesAreGraded() {
    for (h, g, expected) in [(16, 2, 153), (16, 3, 969), (4, 0, 1), (1, 5, 6), (3, 4, 35)] {
      let basis = MonomialBasis(variables: h, degree: g)
      XCTAssertEqual(basis.count, expected)
      XCTAssertEqual(MonomialBasis.featureCount(variables: h, degree: g), expected)
      for t in 0...g {
        XCTAssertEqual(basis.prefixCount[t], MonomialBasis.featureCount(variables: h, degree: t))
        XCTAssertTrue(basis.totalDegree[..<basis.prefixCount[t]].allSatisfy { $0 <= t })
      }
    }
  }

  /// Σ over monomials of degree t of (t!/a!) q^a k^a is ⟨q, k⟩ᵗ: the feature identity φ(q)·ψ(k) = p(⟨q, k⟩).
  func testFeatureProductExpandsThePowersOfTheInnerProduct() {
    let h = 3, g = 4
    let basis = MonomialBasis(variables: h, degree: g)
    let q = [0.3, -0.7, 0.5], k = [0.9, 0.2, -0.4]
    var monomialQ = [Double](repeating: 1, count: basis.count), monomialK = monomialQ
    for m in 1..<basis.count {
      monomialQ[m] = monomialQ[Int(basis.parent[m])] * q[Int(basis.variable[m])]
      monomialK[m] = monomialK[Int(basis.parent[m])] * k[Int(basis.variable[m])]
    }
    let inner = zip(q, k).map(*).reduce(0, +)
    for t in 0...g {
      var sum = 0.0
      for m in 0..<basis.count where basis.totalDegree[m] == t { sum += basis.multinomial[m] * monomialQ[m] * monomialK[m] }
      XCTAssertEqual(sum, pow(inner, Double(t)), accuracy: 1e-12)
    }
  }
}
