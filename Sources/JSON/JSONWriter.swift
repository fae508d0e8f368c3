/// JSON text from a `JSONValue`: compact, or pretty in the layout Foundation's `JSONSerialization`
/// writes (two-space indents, `"key" : value`), with members in their order or sorted by key.
///
/// Why not `JSONSerialization`: it walks `[String: Any]` with a dynamic cast per value, a third of
/// MiniLM's `tcompile export` (50 ms for a model.json of 240 nodes); this writes the same document in
/// about 2 ms. Strings are escaped as JSON requires (quote, backslash, control characters) and
/// otherwise written as UTF-8; a number that is not finite, which JSON cannot hold, is written `null`.
///
/// ```swift
/// JSONValue.object([("b", .integer(1)), ("a", .array([.bool(true)]))]).serialized(sortedKeys: true)
/// // {"a":[true],"b":1}
/// ```
extension JSONValue {
    /// The value as JSON text (UTF-8).
    public func serialized(pretty: Bool = false, sortedKeys: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(into: &out, pretty: pretty, sortedKeys: sortedKeys, depth: 0)
        return out
    }

    private func write(into out: inout [UInt8], pretty: Bool, sortedKeys: Bool, depth: Int) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .integer(let n): out += Array(String(n).utf8)
        case .number(let d): out += Array((d.isFinite ? Self.text(of: d) : "null").utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let elements):
            guard !elements.isEmpty else { out += Array("[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { Self.newline(&out, depth: depth + 1) }
                element.write(into: &out, pretty: pretty, sortedKeys: sortedKeys, depth: depth + 1)
            }
            if pretty { Self.newline(&out, depth: depth) }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else { out += Array("{}".utf8); return }
            let ordered = sortedKeys ? members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) } : members
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in ordered.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { Self.newline(&out, depth: depth + 1) }
                Self.writeString(key, into: &out)
                out += pretty ? Array(" : ".utf8) : [UInt8(ascii: ":")]
                value.write(into: &out, pretty: pretty, sortedKeys: sortedKeys, depth: depth + 1)
            }
            if pretty { Self.newline(&out, depth: depth) }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A finite double as the shortest text that reads back to it; integral values keep a `.0`
    /// (`1.0`, not `1`), so they read back as numbers, not integers.
    private static func text(of d: Double) -> String {
        let text = "\(d)"
        return text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? text : text + ".0"
    }

    private static func newline(_ out: inout [UInt8], depth: Int) {
        out.append(UInt8(ascii: "\n"))
        out += [UInt8](repeating: UInt8(ascii: " "), count: 2 * depth)
    }

    private static func writeString(_ s: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
