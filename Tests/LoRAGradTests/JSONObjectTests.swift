import Foundation
@testable import LoRAGrad
import LoRAGradIO
import XCTest

final class JSONObjectTests: XCTestCase {
  func testRendersCompactlyInInsertionOrder() {
    var object: JSONObject = ["zeta": 1, "alpha": "a", "flag": true, "none": nil]
    object.append("list", [1, 2.5, "x", [], .object([:])])
    object.append("nested", .object(["k": -3]))
    XCTAssertEqual(
      object.description,
      #"{"zeta":1,"alpha":"a","flag":true,"none":null,"list":[1,2.5,"x",[],{}],"nested":{"k":-3}}"#)
    XCTAssertEqual(JSONObject().description, "{}")
    XCTAssertEqual(object["alpha"], .string("a"))
    XCTAssertNil(object["missing"])
  }

  func testBuildsFromAnArrayOfPairs() {
    var object = JSONObject([("loss", .double(0.5)), ("adapted", .array([.string("q")])), ("n", .int(3))])
    object.append("regime", .null)
    XCTAssertEqual(object.description, #"{"loss":0.5,"adapted":["q"],"n":3,"regime":null}"#)
  }

  func testEscapesStrings() {
    let text = "quote \" backslash \\ newline \n tab \t cr \r bell \u{07} nul \u{00} é 🙂"
    let rendered = JSONValue.string(text).rendered
    XCTAssertEqual(
      rendered, #""quote \" backslash \\ newline \n tab \t cr \r bell \u0007 nul \u0000 é 🙂""#)
    XCTAssertFalse(rendered.contains("\n"))
    let parsed = try? JSONSerialization.jsonObject(with: Data("[\(rendered)]".utf8)) as? [String]
    XCTAssertEqual(parsed?.first, text)
    XCTAssertEqual(JSONObject([(key: "a\"b", value: .null)]).description, #"{"a\"b":null}"#)
  }

  func testDoublesRoundTripAndNonFiniteIsNull() throws {
    let values = [
      0.1, 1.0 / 3.0, -2.5, 1e-300, .leastNonzeroMagnitude, 1.7976931348623157e308, 123456789012345.67, 0, -0.0, 1e16,
    ]
    for x in values {
      let rendered = JSONValue.double(x).rendered
      XCTAssertEqual(Double(rendered), x, rendered)
      let parsed = try JSONSerialization.jsonObject(with: Data("[\(rendered)]".utf8)) as? [Any]
      XCTAssertNotNil(parsed, "not valid JSON: \(rendered)")
    }
    XCTAssertEqual(JSONValue.double(.nan).rendered, "null")
    XCTAssertEqual(JSONValue.double(.infinity).rendered, "null")
    XCTAssertEqual(JSONValue.double(-.infinity).rendered, "null")
    XCTAssertEqual(JSONValue.int(Int.min).rendered, "-9223372036854775808")
  }

  func testOutputIsValidJSON() throws {
    let object: JSONObject = [
      "method": "exact", "loss": 0.125, "adapted": ["q", "v"], "ok": false, "x": .double(.nan),
    ]
    let parsed = try JSONSerialization.jsonObject(with: Data(object.description.utf8)) as? [String: Any]
    XCTAssertEqual(parsed?["method"] as? String, "exact")
    XCTAssertEqual(parsed?["adapted"] as? [String], ["q", "v"])
    XCTAssertTrue(parsed?["x"] is NSNull)
  }
}
