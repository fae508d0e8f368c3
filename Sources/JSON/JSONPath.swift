/// Where a value sits in a document, printed as errors show it: `ops[3].attrs.start`,
/// `model.vocab["[UNK]"]` (keys that are not identifiers are quoted). The empty path is the document.
public struct JSONPath: Hashable, Sendable, CustomStringConvertible {
    /// One step: an object member or an array element.
    public enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    public private(set) var components: [Component]

    /// The document itself.
    public init(_ components: [Component] = []) { self.components = components }

    public var isEmpty: Bool { components.isEmpty }

    /// This path extended by the member `key`.
    public func appending(key: String) -> JSONPath { JSONPath(components + [.key(key)]) }
    /// This path extended by the element `index`.
    public func appending(index: Int) -> JSONPath { JSONPath(components + [.index(index)]) }

    public var description: String {
        var out = ""
        for component in components {
            switch component {
            case let .index(i): out += "[\(i)]"
            case let .key(k) where Self.isIdentifier(k): out += out.isEmpty ? k : "." + k
            case let .key(k):
                out += "[" + quoted(k) + "]"
            }
        }
        return out
    }

    /// Whether `key` prints bare: letters, digits, `_` and `-`, not starting with a digit.
    static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return key.utf8.allSatisfy { c in
            (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || (0x30...0x39).contains(c) || c == 0x5F || c == 0x2D
        }
    }
}

/// `text` in double quotes with `"` and `\` escaped, as a key or string appears in JSON.
func quoted(_ text: String) -> String {
    var out = "\""
    for c in text.unicodeScalars {
        if c == "\"" || c == "\\" { out.unicodeScalars.append("\\") }
        out.unicodeScalars.append(c)
    }
    return out + "\""
}
