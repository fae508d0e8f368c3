import Testing
import JSON

/// The writer: what it writes parses back to the same value, strings escaped as JSON requires, and the
/// layouts (compact, pretty, sorted keys) as documented.
struct WriterTests {
    static func text(_ value: JSONValue, pretty: Bool = false, sortedKeys: Bool = false) -> String {
        String(decoding: value.serialized(pretty: pretty, sortedKeys: sortedKeys), as: UTF8.self)
    }

    @Test func valuesReadBackUnchanged() throws {
        let strings = ["", "plain", "quote \" backslash \\ slash /", "tab\tnewline\ncr\r", "\u{0}\u{1}\u{1f}\u{7f}", "aé🙂", "\u{2028}"]
        let numbers: [Double] = [0.5, -1.25e-7, 1e300, 3.0, -0.0, 123456.789, 5e-324]
        let value = JSONValue.object([
            ("strings", .array(strings.map { .string($0) })),
            ("numbers", .array(numbers.map { .number($0) })),
            ("integers", .array([0, -1, Int.max, Int.min].map { .integer($0) })),
            ("nested", .object([("empty array", .array([])), ("empty object", .object([])), ("flags", .array([.bool(true), .bool(false), .null]))])),
        ])
        for pretty in [false, true] {
            let parsed = try JSONParser.parse(value.serialized(pretty: pretty), file: "w.json")
            #expect(parsed == value, "pretty: \(pretty)")
        }
    }

    @Test func layouts() {
        let value = JSONValue.object([("b", .integer(1)), ("a", .array([.bool(true), .string("x")])), ("c", .object([]))])
        #expect(Self.text(value) == #"{"b":1,"a":[true,"x"],"c":{}}"#)
        #expect(Self.text(value, sortedKeys: true) == #"{"a":[true,"x"],"b":1,"c":{}}"#)
        #expect(Self.text(value, pretty: true, sortedKeys: true) == """
            {
              "a" : [
                true,
                "x"
              ],
              "b" : 1,
              "c" : {}
            }
            """)
    }

    @Test func escapesAndNumbers() {
        #expect(Self.text(.string("a\"b\\c\nd\u{1}")) == #""a\"b\\c\nd\u0001""#)
        #expect(Self.text(.number(2)) == "2.0", "an integral double stays a number")
        #expect(Self.text(.number(.infinity)) == "null")
        #expect(Self.text(.number(.nan)) == "null")
    }
}
