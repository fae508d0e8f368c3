/// A recursive-descent JSON parser over UTF-8 bytes, for files users download (tokenizer.json,
/// config.json, safetensors headers, model.json). Never traps on hostile input: nesting is at most
/// 512 deep, strings must be valid UTF-8, numbers follow RFC 8259's grammar and must be finite. An
/// object with the same key twice is an error naming the key and its path (Python's `json` keeps the
/// last one, a reader that keeps the first gives a silently different answer). Syntax errors give the
/// byte offset.
///
/// ```swift
/// let config = try JSONParser.parse(bytes, file: "config.json")
/// ```
public struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    public static let maximumDepth = 512

    let bytes: [UInt8]
    let file: String
    var index = 0
    var depth = 0
    /// The path of the value being parsed, for errors.
    var path: [JSONPath.Component] = []

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    /// Parses a whole document; `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(JSONError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, file: file)
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index != bytes.count { throw parser.fail("unexpected data after the document") }
        return value
    }

    func fail(_ message: String) -> JSONError {
        let place = path.isEmpty ? "" : " (in \(JSONPath(path)))"
        return JSONError(.syntax, file: file, path: JSONPath(path), reason: "\(message) at byte \(index)\(place)")
    }

    mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D
                || bytes[index] == 0x09 {
            index += 1
        }
    }

    mutating func parseValue() throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        default: return try parseNumber()
        }
    }

    mutating func expectWord(_ word: StaticString) throws(JSONError) {
        let start = index
        for i in 0..<word.utf8CodeUnitCount {
            guard index < bytes.count, bytes[index] == word.utf8Start[i] else { index = start; throw fail("invalid literal") }
            index += 1
        }
    }

    mutating func enter() throws(JSONError) {
        depth += 1
        if depth > JSONParser.maximumDepth { throw fail("nesting deeper than \(JSONParser.maximumDepth)") }
    }

    mutating func parseObject() throws(JSONError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [(String, JSONValue)] = []
        // Small objects are checked for duplicates by scanning; large ones (vocabularies) by a set.
        var keys: Set<String>? = nil
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let keyStart = index
            let key = try parseString()
            let duplicate: Bool
            if keys != nil {
                duplicate = !keys!.insert(key).inserted
            } else {
                duplicate = members.contains { $0.0 == key }
                if members.count >= 16 { keys = Set(members.map(\.0) + [key]) }
            }
            if duplicate {
                throw JSONError(.duplicateKey, file: file, path: JSONPath(path),
                                reason: "has the key \(quoted(key)) twice (the second at byte \(keyStart))")
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            path.append(.key(key))
            let value = try parseValue()
            path.removeLast()
            members.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
        while true {
            path.append(.index(elements.count))
            let element = try parseValue()
            path.removeLast()
            elements.append(element)
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(elements) }
            throw fail("expected ',' or ']'")
        }
    }

    /// Whether the byte at `index` is an ASCII digit.
    func atDigit() -> Bool { index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; an integer that fits `Int` stays exact.
    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = index
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard atDigit() else { index = start; throw fail("invalid value") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if atDigit() { index = start; throw fail("invalid number (leading zero)") }
        } else {
            while atDigit() { index += 1 }
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard atDigit() else { throw fail("invalid number (no digit after '.')") }
            while atDigit() { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard atDigit() else { throw fail("invalid number (no digit in the exponent)") }
            while atDigit() { index += 1 }
        }
        if isInteger {
            var value = 0
            var fits = true
            for byte in bytes[(negative ? start + 1 : start)..<index] {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = negative ? m.subtractingReportingOverflow(Int(byte - 0x30)) : m.addingReportingOverflow(Int(byte - 0x30))
                if o1 || o2 { fits = false; break }
                value = s
            }
            if fits { return .integer(value) }
        }
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else {
            let end = index
            index = start
            throw fail("number \(String(decoding: bytes[start..<end], as: UTF8.self).prefix(40)) is out of range")
        }
        return .number(value)
    }

    mutating func hex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func parseString() throws(JSONError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
            index += 1
        }
        guard index < bytes.count else { throw fail("unterminated string") }
        var out = Array(bytes[start..<index])
        while bytes[index] != UInt8(ascii: "\"") {
            // bytes[index] is a backslash.
            index += 1
            guard index < bytes.count else { throw fail("unterminated string") }
            let c = bytes[index]
            index += 1
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(c)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00, index + 6 <= bytes.count,
                   bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                    let save = index
                    index += 2
                    let low = try hex4()
                    if low >= 0xDC00 && low < 0xE000 {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        index = save
                    }
                }
                // Lone surrogates become U+FFFD, as Python's json does not allow them in UTF-8 either.
                out.append(contentsOf: Array(String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8))
            default: throw fail("invalid escape")
            }
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
                out.append(bytes[index])
                index += 1
            }
            guard index < bytes.count else { throw fail("unterminated string") }
        }
        index += 1
        guard let string = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
        return string
    }
}
