import Testing
import JSON

/// The parser: exact integers, strict grammar, duplicate keys, depth limit, byte offsets.
struct ParserTests {
    static func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONParser.parse(Array(text.utf8), file: "t.json") }

    static func error(_ text: String) -> JSONError? {
        do { _ = try parse(text); return nil } catch { return error }
    }

    @Test func scalarsKeepTheirKinds() throws {
        #expect(try Self.parse("1") == .integer(1))
        #expect(try Self.parse("1.0") == .number(1.0))
        #expect(try Self.parse("-0") == .integer(0))
        #expect(try Self.parse("1e3") == .number(1000))
        #expect(try Self.parse("true") == .bool(true))
        #expect(try Self.parse("null") == .null)
        #expect(try Self.parse(#""a\u00e9\ud83d\ude42""#) == .string("aé🙂"))
        #expect(try Self.parse("9223372036854775807") == .integer(Int.max))
        #expect(try Self.parse("-9223372036854775808") == .integer(Int.min))
        #expect(try Self.parse("9223372036854775808") == .number(9223372036854775808))
        #expect(try Self.parse("9007199254740993") == .integer(9007199254740993), "exact beyond 2^53")
    }

    @Test func objectsKeepDocumentOrder() throws {
        let value = try Self.parse(#"{"b": 1, "a": [true, null]}"#)
        #expect(value.objectMembers?.map(\.0) == ["b", "a"])
        #expect(value["a"] == .array([.bool(true), .null]))
        #expect(value["missing"] == nil)
    }

    @Test(arguments: ["", "{", "[1, 2", "{\"a\": tru}", "{\"a\": \"\\u12\"}", "{} x", "\u{FEFF}{}", "01", "1.", ".5",
                      "+1", "-", "1e", "1e400", "{\"a\" 1}", "[1,]", "\"\u{1}\"\\x\"", "\"\\q\""])
    func malformedDocumentsNameTheByte(_ text: String) {
        guard let e = Self.error(text) else { Issue.record("accepted \(text.debugDescription)"); return }
        #expect(e.kind == .syntax && e.reason.contains("at byte"), "\(e)")
        #expect(e.description.hasPrefix("t.json: not valid JSON: "))
    }

    @Test func syntaxErrorsSayWhereInTheDocument() {
        let e = Self.error(#"{"model": {"vocab": {"a": 1, "b": }}}"#)
        #expect(e?.reason == "invalid value at byte 34 (in model.vocab.b)", "\(String(describing: e))")
    }

    @Test func duplicateKeysAreErrorsNamingKeyAndPath() {
        let e = Self.error(#"{"model": {"vocab": {"a": 1, "b": 2, "a": 3}}}"#)
        #expect(e?.kind == .duplicateKey)
        #expect(e?.description == #"t.json: model.vocab: has the key "a" twice (the second at byte 37)"#, "\(String(describing: e))")
        let root = Self.error(#"{"x": 1, "x": 1}"#)
        #expect(root?.description == #"t.json: (document): has the key "x" twice (the second at byte 9)"#)
        // Large objects (checked through a set) too.
        let keys = (0..<100).map { "\"k\($0)\": \($0)" }.joined(separator: ", ")
        #expect(Self.error("[{\(keys), \"k42\": 0}]")?.description.hasPrefix(#"t.json: [0]: has the key "k42" twice"#) == true)
        #expect(Self.error("{\(keys)}") == nil)
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Self.error(deep)?.reason.contains("nesting deeper than 512") == true)
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(Self.error(ok) == nil)
    }

    @Test func invalidUTF8IsAnError() {
        #expect(throws: JSONError.self) { try JSONParser.parse([0x22, 0xFF, 0x22], file: "t.json") }
    }

    @Test func loneSurrogatesBecomeReplacementCharacters() throws {
        #expect(try Self.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
    }
}
