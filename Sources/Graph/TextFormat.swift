import Foundation
import Tensors

/// The IR's human-readable text form, which prints and parses back to the same graph:
///
/// ```
/// graph(batch <= 8, seq <= 128) {
///   %0 = input {name = "x"} : f32[batch, seq, 4]
///   %1 = constant {name = "w"} : f32[4, 4]
///   %2 = matmul(%0, %1) : f32[batch, seq, 4] @"Sources/Model.swift":12 in "layer.0"
///   return %2 as "y"
/// }
/// ```
/// Constants' values are not part of the text; they travel in the safetensors file beside model.json.
public enum TextFormat {
    /// The text of `graph`.
    public static func print(_ graph: Graph) -> String {
        var out = "graph(" + graph.symbols.map(\.description).joined(separator: ", ") + ") {\n"
        for node in graph.nodes {
            out += "  %\(node.id) = \(node.op.name)"
            if node.op.computes {
                out += "(" + node.inputs.map { "%\($0)" }.joined(separator: ", ") + ")"
            }
            let attributes = node.op.attributes
            if !attributes.isEmpty {
                out += " {" + attributes.map { "\($0.0) = \($0.1)" }.joined(separator: ", ") + "}"
            }
            out += " : \(node.type)"
            if let loc = node.location {
                out += " @" + AttributeValue.string(loc.file).description + ":\(loc.line)"
                if let scope = loc.scope { out += " in " + AttributeValue.string(scope).description }
            }
            out += "\n"
        }
        out += "  return " + graph.outputs.map { "%\($0.value) as " + AttributeValue.string($0.name).description }.joined(separator: ", ") + "\n}\n"
        return out
    }

    /// Parses the text form. Constants get their tensors from `constants` (names must match).
    public static func parse(_ text: String, constants: [String: Tensor] = [:]) throws -> Graph {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
        guard !lines.isEmpty else { throw GraphError(.parse, "empty text") }
        var header = Cursor(lines.removeFirst(), line: 1)
        try header.expect("graph")
        try header.expect("(")
        var symbols: [DimSymbol] = []
        while !header.consume(")") {
            let name = try header.identifier()
            if header.consume("<=") {
                symbols.append(DimSymbol(name, max: try header.integer()))
            } else {
                try header.expect("in")
                let lo = try header.integer()
                try header.expect("...")
                symbols.append(DimSymbol(name, max: try header.integer(), min: lo))
            }
            _ = header.consume(",")
        }
        try header.expect("{")
        var graph = Graph(symbols: symbols, constants: constants)
        for (index, raw) in lines.enumerated() {
            var c = Cursor(raw, line: index + 2)
            if c.consume("}") { try c.end(); return graph }
            if c.consume("return") {
                repeat {
                    try c.expect("%")
                    let value = try c.integer()
                    try c.expect("as")
                    graph.outputs.append(.init(name: try c.string(), value: value))
                } while c.consume(",")
                try c.end()
                continue
            }
            try c.expect("%")
            let id = try c.integer()
            try c.expect("=")
            let name = try c.identifier()
            var inputs: [ValueID] = []
            if c.consume("(") {
                while !c.consume(")") {
                    try c.expect("%")
                    inputs.append(try c.integer())
                    _ = c.consume(",")
                }
            }
            var attributes: [String: AttributeValue] = [:]
            if c.consume("{") {
                while !c.consume("}") {
                    let key = try c.identifier()
                    try c.expect("=")
                    attributes[key] = try c.attributeValue()
                    _ = c.consume(",")
                }
            }
            try c.expect(":")
            let type = try c.tensorType()
            var location: SourceLocation? = nil
            if c.consume("@") {
                let file = try c.string()
                try c.expect(":")
                let line = try c.integer()
                let scope = c.consume("in") ? try c.string() : nil
                location = SourceLocation(file: file, line: line, scope: scope)
            }
            try c.end()
            let op: GraphOp
            do { op = try GraphOp.make(name: name, attributes: attributes) } catch let e as GraphError {
                throw GraphError(.parse, "line \(index + 2): \(e.message)")
            }
            graph.nodes.append(.init(id: id, op: op, inputs: inputs, type: type, location: location))
        }
        throw GraphError(.parse, "missing closing '}'")
    }
}

/// A left-to-right reader over one line of IR text.
struct Cursor {
    private var chars: [Character]
    private var position = 0
    let line: Int

    init(_ text: String, line: Int) {
        chars = Array(text)
        self.line = line
    }

    private mutating func skipSpace() { while position < chars.count, chars[position].isWhitespace { position += 1 } }

    func error(_ message: String) -> GraphError {
        GraphError(.parse, "line \(line), column \(position + 1): \(message)")
    }

    /// Consumes `token` if it comes next (identifiers must end at a word boundary).
    mutating func consume(_ token: String) -> Bool {
        skipSpace()
        let t = Array(token)
        guard position + t.count <= chars.count, Array(chars[position..<(position + t.count)]) == t else { return false }
        if let last = t.last, last.isLetter, position + t.count < chars.count,
           chars[position + t.count].isLetter || chars[position + t.count].isNumber || chars[position + t.count] == "_" {
            return false
        }
        position += t.count
        return true
    }

    mutating func expect(_ token: String) throws {
        guard consume(token) else { throw error("expected '\(token)'") }
    }

    mutating func end() throws {
        skipSpace()
        guard position == chars.count else { throw error("unexpected '\(String(chars[position...]))'") }
    }

    mutating func identifier() throws -> String {
        skipSpace()
        let start = position
        while position < chars.count, chars[position].isLetter || chars[position] == "_" || (position > start && chars[position].isNumber) {
            position += 1
        }
        guard position > start else { throw error("expected a name") }
        return String(chars[start..<position])
    }

    mutating func integer() throws -> Int {
        skipSpace()
        let start = position
        if position < chars.count, chars[position] == "-" { position += 1 }
        while position < chars.count, chars[position].isNumber { position += 1 }
        guard let v = Int(String(chars[start..<position])) else { throw error("expected an integer") }
        return v
    }

    mutating func string() throws -> String {
        skipSpace()
        guard position < chars.count, chars[position] == "\"" else { throw error("expected a string") }
        position += 1
        var out = ""
        while position < chars.count, chars[position] != "\"" {
            if chars[position] == "\\", position + 1 < chars.count { position += 1 }
            out.append(chars[position])
            position += 1
        }
        guard position < chars.count else { throw error("unterminated string") }
        position += 1
        return out
    }

    /// Raw text up to the next `,`, `]` or `}` at bracket depth 0.
    private mutating func rawItem() -> String {
        skipSpace()
        let start = position
        while position < chars.count, !",]}".contains(chars[position]) { position += 1 }
        return String(chars[start..<position]).trimmingCharacters(in: .whitespaces)
    }

    mutating func expression() throws -> SymbolicInt {
        let text = rawItem()
        guard let v = SymbolicInt(parsing: text) else { throw error("'\(text)' is not an integer expression") }
        return v
    }

    mutating func attributeValue() throws -> AttributeValue {
        skipSpace()
        guard position < chars.count else { throw error("expected a value") }
        if chars[position] == "\"" { return .string(try string()) }
        if consume("[") {
            var items: [SymbolicInt] = []
            while !consume("]") {
                items.append(try expression())
                _ = consume(",")
            }
            return .list(items)
        }
        if consume("true") { return .bool(true) }
        if consume("false") { return .bool(false) }
        let text = rawItem()
        if let d = DType(shortName: text) { return .dtype(d) }
        if Int(text) == nil, let d = Double(text) { return .double(d) }
        guard let v = SymbolicInt(parsing: text) else { throw error("'\(text)' is not a value") }
        return .int(v)
    }

    mutating func tensorType() throws -> TensorType {
        let name = try identifier()
        guard let dtype = DType(shortName: name) else { throw error("unknown dtype '\(name)'") }
        try expect("[")
        var shape: [SymbolicInt] = []
        while !consume("]") {
            shape.append(try expression())
            _ = consume(",")
        }
        return TensorType(dtype, shape)
    }
}
