import Foundation
import JSON
import Tensors

/// `model.json` in its `tcompile.graph/1` form: a traced graph saved as JSON, with its constants in a
/// safetensors file beside it. See docs/model-json.md and docs/schemas/tcompile.graph-1.schema.json.
public enum GraphFile {
    /// The format tag this reader and writer speak.
    public static let format = "tcompile.graph/1"

    /// Where `save` puts the constants of a model.json at `path` unless told otherwise
    /// (`NAME.weights.safetensors` beside it).
    public static func weightsPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(url.deletingPathExtension().lastPathComponent + ".weights.safetensors").path
    }

    /// Writes `graph` to `path` and its constants to `weightsFile` (relative to `path`'s folder) as one
    /// set (`writeFilesAtomically`: both written whole to temporary names, then renamed), so an
    /// interruption never leaves half a file nor a new model.json beside old constants.
    public static func save(_ graph: Graph, name: String, to path: String, weightsFile: String? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let weights = weightsFile ?? (weightsPath(for: path) as NSString).lastPathComponent
        var nodes: [JSONValue] = []
        nodes.reserveCapacity(graph.nodes.count)
        for node in graph.nodes {
            var n: [(String, JSONValue)] = [
                ("id", .integer(node.id)), ("op", .string(node.op.name)), ("inputs", .array(node.inputs.map { .integer($0) })),
                ("type", .object([("dtype", .string(node.type.dtype.shortName)), ("shape", .array(node.type.shape.map(jsonDim)))])),
            ]
            let attributes = node.op.attributes
            if !attributes.isEmpty {
                n.append(("attributes", .object(attributes.map { ($0.0, .string($0.1.description)) })))
            }
            if let loc = node.location {
                var l: [(String, JSONValue)] = [("file", .string(loc.file)), ("line", .integer(loc.line))]
                if let scope = loc.scope { l.append(("scope", .string(scope))) }
                n.append(("location", .object(l)))
            }
            nodes.append(.object(n))
        }
        let document = JSONValue.object([
            ("format", .string(format)),
            ("name", .string(name)),
            ("symbols", .array(graph.symbols.map { .object([("name", .string($0.name)), ("max", .integer($0.max)), ("min", .integer($0.min))]) })),
            ("nodes", .array(nodes)),
            ("outputs", .array(graph.outputs.map { .object([("name", .string($0.name)), ("value", .integer($0.value))]) })),
            ("constants", .string(weights)),
        ])
        let data = Data(document.serialized(pretty: true, sortedKeys: true))
        let weightsPath = ReferencedPath.resolve(weights, namedIn: url.path).path
        // Both files or neither: a failure while writing leaves the previous pair as it was.
        let constants = try SafeTensors.content(graph.constants, metadata: ["format": format, "graph": name])
        do { try writeFilesAtomically([(weightsPath, constants), (path, FileContent.bytes(data))]) } catch {
            throw GraphError(.format, "\(error)")
        }
    }

    private static func jsonDim(_ d: SymbolicInt) -> JSONValue { d.constant.map { .integer($0) } ?? .string(d.description) }

    /// Reads a `tcompile.graph/1` document and its constants; every error names the file and the
    /// JSON path of the field at fault (`nodes[3].type.shape[1]`).
    public static func load(path: String) throws -> (name: String, graph: Graph) {
        let root: JSONReader
        do { root = try JSONReader(contentsOf: path) } catch { throw GraphError(.format, error.description) }
        do { return try read(root, path: path) } catch let e as JSONError { throw GraphError(.format, e.description) }
    }

    /// The graph of a parsed document at `path` (constants are found relative to it).
    static func read(_ root: JSONReader, path: String, maximumNodes: Int = Limits.maximumNodes) throws -> (name: String, graph: Graph) {
        _ = try root.object()
        try root.rejectUnknownFields(["format", "name", "symbols", "nodes", "outputs", "constants"])
        let tag = try root.requireString("format")
        guard tag == format else { throw root.error(at: "format", "is '\(tag)', expected '\(format)'") }
        let name = try root.requireString("name")
        var graph = Graph()
        for s in try root.array(at: "symbols") {
            _ = try s.object()
            try s.rejectUnknownFields(["name", "max", "min"])
            let symbol = DimSymbol(try s.requireString("name"), max: try s.requireInt("max"), min: try s.optionalInt("min") ?? 1)
            guard symbol.min >= 0, symbol.min <= symbol.max, symbol.max <= Limits.symbolMax else {
                throw s.error("must have 0 <= min <= max <= \(Limits.symbolMax), got \(symbol.min)...\(symbol.max)")
            }
            // A dim name must read back as itself in a shape ("seq", not "seq + 1" or "a */ b"), and
            // be declared once: shapes, bindings and the C API's dims array are keyed by it.
            guard SymbolicInt(parsing: symbol.name)?.singleSymbol == symbol.name else {
                throw s.error(at: "name", "'\(symbol.name)' is not an identifier")
            }
            guard !graph.symbols.contains(where: { $0.name == symbol.name }) else {
                throw s.error(at: "name", "dim '\(symbol.name)' is declared twice")
            }
            graph.symbols.append(symbol)
        }
        let bounds = Dictionary(graph.symbols.map { ($0.name, $0.max) }, uniquingKeysWith: { a, _ in a })
        /// Throws unless `values` (a shape or an integer attribute at `field`) stay far from Int
        /// overflow at the symbols' bounds, so that type inference on them cannot overflow.
        func requireBounded(_ values: [SymbolicInt], at field: JSONReader, indexed: Bool = true) throws {
            var product = 1
            for (i, v) in values.enumerated() {
                guard let m = v.magnitude(bounds: bounds), m <= Limits.valueMagnitude else {
                    let at = indexed ? JSONReader(field.value, file: field.file, path: field.path.appending(index: i)) : field
                    // A name that is no declared dim (a dtype `f64` where an integer belongs, a typo of
                    // `seq`) is said as such, not as an unbounded value.
                    if let unknown = v.symbols.sorted().first(where: { bounds[$0] == nil }) {
                        throw at.error("'\(v)' uses '\(unknown)', which is not a declared dim (\(bounds.keys.sorted().joined(separator: ", ")))")
                    }
                    throw at.error("'\(v)' is unbounded or exceeds \(Limits.valueMagnitude) within the symbols' bounds")
                }
                let (p, overflow) = product.multipliedReportingOverflow(by: Swift.max(m, 1))
                guard !overflow, p <= Limits.valueMagnitude else {
                    throw field.error("holds more than \(Limits.valueMagnitude) elements within the symbols' bounds")
                }
                product = p
            }
        }
        let nodes = try root.array(at: "nodes")
        guard nodes.count <= maximumNodes else {
            throw root.error(at: "nodes", "holds \(nodes.count) nodes, more than the \(maximumNodes) a graph may have")
        }
        for n in nodes {
            _ = try n.object()
            try n.rejectUnknownFields(["id", "op", "inputs", "type", "attributes", "location"])
            let opName = try n.requireString("op")
            var attributes: [String: AttributeValue] = [:]
            var fields: [String: JSONReader] = [:]
            if let a = try n.optionalObject(at: "attributes") {
                for (key, value) in try a.members() {
                    var c = Cursor(try value.string(), line: 1)
                    do { attributes[key] = try c.attributeValue(); try c.end() } catch {
                        throw value.error("is not a valid value")
                    }
                    fields[key] = value
                }
            }
            let op: GraphOp
            do { op = try GraphOp.make(name: opName, attributes: attributes) } catch let e as GraphError {
                throw n.error(e.message)
            }
            // Bounds after the op has checked each attribute's kind (a `dtype: f64` is "must be a
            // dtype", not an unbounded integer expression).
            for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
                guard let field = fields[key] else { continue }
                switch value {
                case .int(let v): try requireBounded([v], at: field, indexed: false)
                case .list(let list): try requireBounded(list, at: field)
                default: break
                }
            }
            let t = try n.object(at: "type")
            try t.rejectUnknownFields(["dtype", "shape"])
            let dtypeName = try t.requireString("dtype")
            guard let dtype = DType(shortName: dtypeName) else { throw t.error(at: "dtype", "'\(dtypeName)' is not f32, i32, i64 or bool") }
            let shapeField = try t.field("shape")
            let shape = try shapeField.array().map(dim)
            try requireBounded(shape, at: shapeField)
            var location: SourceLocation? = nil
            if let l = try n.optionalObject(at: "location") {
                try l.rejectUnknownFields(["file", "line", "scope"])
                location = SourceLocation(file: try l.requireString("file"), line: try l.requireInt("line"),
                                          scope: try l.optionalString("scope"))
            }
            graph.nodes.append(.init(id: try n.requireInt("id"), op: op,
                                     inputs: try n.array(at: "inputs").map { try $0.int() },
                                     type: TensorType(dtype, shape), location: location))
        }
        // A graph without outputs computes nothing a caller can read (its library would have none).
        guard try !root.array(at: "outputs").isEmpty else { throw root.error(at: "outputs", "must name at least one output") }
        for out in try root.array(at: "outputs") {
            _ = try out.object()
            try out.rejectUnknownFields(["name", "value"])
            graph.outputs.append(.init(name: try out.requireString("name"), value: try out.requireInt("value")))
        }
        let weights = try root.requireString("constants")
        let weightsPath = ReferencedPath.resolve(weights, namedIn: path).path
        let names = graph.nodes.compactMap { if case .constant(let n) = $0.op { n } else { nil } }
        if !names.isEmpty {
            let file: SafeTensorsFile
            do { file = try SafeTensorsFile(path: weightsPath) } catch let e as SafeTensorsError {
                throw root.error(at: "constants", "\(e)")
            }
            for n in names {
                do { graph.constants[n] = try file.tensor(n) } catch let e as SafeTensorsError { throw root.error(at: "constants", "\(e)") }
            }
        }
        do { try Verifier.verify(graph) } catch let e as GraphError { throw GraphError(.format, "\(path): \(e.message)", at: e.location) }
        return (name, graph)
    }

    /// A dim: an integer or a symbol expression such as `"2*seq"`.
    static func dim(_ field: JSONReader) throws(JSONError) -> SymbolicInt {
        if let s = field.value.stringValue {
            guard let d = SymbolicInt(parsing: s) else { throw field.error("'\(s)' is not a dim expression") }
            return d
        }
        guard let n = field.value.intValue else { throw field.error("must be an integer or a dim expression, got \(field.value.shortDescription)") }
        return SymbolicInt(n)
    }
}

/// Limits on the integers of an untrusted `tcompile.graph/1` file, far above any real model and far
/// below Int overflow: a dim bound fits 32 bits, and a shape's element count (or an integer attribute
/// list's product) at the dims' bounds fits 48 bits, so the shape arithmetic of type inference (sums,
/// products of one shape's dims, element counts) stays exact.
enum Limits {
    static let symbolMax = Int(Int32.max)
    static let valueMagnitude = 1 << 48
    /// The most nodes a graph file may hold: 100× the largest traced model here (GPT-2 large has about
    /// 2,000), and few enough that every pass stays quick.
    static let maximumNodes = 1_000_000
}
