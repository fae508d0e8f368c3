import Foundation
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

    /// Writes `graph` to `path` and its constants to `weightsFile` (relative to `path`'s folder), each
    /// atomically (temporary name, then rename), so an interruption never leaves half a file.
    public static func save(_ graph: Graph, name: String, to path: String, weightsFile: String? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let weights = weightsFile ?? (weightsPath(for: path) as NSString).lastPathComponent
        var nodes: [[String: Any]] = []
        for node in graph.nodes {
            var n: [String: Any] = [
                "id": node.id, "op": node.op.name, "inputs": node.inputs,
                "type": ["dtype": node.type.dtype.shortName, "shape": node.type.shape.map(jsonDim)],
            ]
            let attributes = node.op.attributes
            if !attributes.isEmpty {
                n["attributes"] = Dictionary(uniqueKeysWithValues: attributes.map { ($0.0, $0.1.description) })
            }
            if let loc = node.location {
                var l: [String: Any] = ["file": loc.file, "line": loc.line]
                if let scope = loc.scope { l["scope"] = scope }
                n["location"] = l
            }
            nodes.append(n)
        }
        let document: [String: Any] = [
            "format": format,
            "name": name,
            "symbols": graph.symbols.map { ["name": $0.name, "max": $0.max, "min": $0.min] },
            "nodes": nodes,
            "outputs": graph.outputs.map { ["name": $0.name, "value": $0.value] },
            "constants": weights,
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        let weightsPath = url.deletingLastPathComponent().appendingPathComponent(weights).path
        try SafeTensors.write(graph.constants, metadata: ["format": format, "graph": name], to: weightsPath)
        do { try writeFileAtomically(data, to: path) } catch {
            throw GraphError(.format, "\(path): cannot write: \(error.reason)")
        }
    }

    private static func jsonDim(_ d: SymbolicInt) -> Any { d.constant.map { $0 as Any } ?? d.description }

    /// Reads a `tcompile.graph/1` document and its constants; every error names the file and the
    /// JSON path of the field at fault (`nodes[3].type.shape[1]`).
    public static func load(path: String) throws -> (name: String, graph: Graph) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw GraphError(.format, "\(path): cannot read: \(error.localizedDescription)")
        }
        let reader = JSONReader(file: path)
        let root = try reader.object(try reader.parse(data), at: "")
        try reader.onlyKeys(root, ["format", "name", "symbols", "nodes", "outputs", "constants"], at: "")
        let tag = try reader.string(root["format"], at: "format")
        guard tag == format else { throw reader.error("format", "is '\(tag)', expected '\(format)'") }
        let name = try reader.string(root["name"], at: "name")
        var graph = Graph()
        for (i, s) in try reader.array(root["symbols"], at: "symbols").enumerated() {
            let at = "symbols[\(i)]"
            let o = try reader.object(s, at: at)
            try reader.onlyKeys(o, ["name", "max", "min"], at: at)
            graph.symbols.append(DimSymbol(try reader.string(o["name"], at: at + ".name"), max: try reader.int(o["max"], at: at + ".max"),
                                           min: o["min"] == nil ? 1 : try reader.int(o["min"], at: at + ".min")))
        }
        for (i, n) in try reader.array(root["nodes"], at: "nodes").enumerated() {
            let at = "nodes[\(i)]"
            let o = try reader.object(n, at: at)
            try reader.onlyKeys(o, ["id", "op", "inputs", "type", "attributes", "location"], at: at)
            let opName = try reader.string(o["op"], at: at + ".op")
            var attributes: [String: AttributeValue] = [:]
            if let a = o["attributes"] {
                for (key, value) in try reader.object(a, at: at + ".attributes") {
                    var c = Cursor(try reader.string(value, at: "\(at).attributes.\(key)"), line: 1)
                    do { attributes[key] = try c.attributeValue(); try c.end() } catch {
                        throw reader.error("\(at).attributes.\(key)", "is not a valid value")
                    }
                }
            }
            let op: GraphOp
            do { op = try GraphOp.make(name: opName, attributes: attributes) } catch let e as GraphError {
                throw reader.error(at, e.message)
            }
            let t = try reader.object(o["type"], at: at + ".type")
            try reader.onlyKeys(t, ["dtype", "shape"], at: at + ".type")
            let dtypeName = try reader.string(t["dtype"], at: at + ".type.dtype")
            guard let dtype = DType(shortName: dtypeName) else { throw reader.error(at + ".type.dtype", "'\(dtypeName)' is not f32, i32, i64 or bool") }
            let shape = try reader.array(t["shape"], at: at + ".type.shape").enumerated().map { j, d in
                try reader.dim(d, at: "\(at).type.shape[\(j)]")
            }
            var location: SourceLocation? = nil
            if let l = o["location"] {
                let lo = try reader.object(l, at: at + ".location")
                try reader.onlyKeys(lo, ["file", "line", "scope"], at: at + ".location")
                location = SourceLocation(file: try reader.string(lo["file"], at: at + ".location.file"),
                                          line: try reader.int(lo["line"], at: at + ".location.line"),
                                          scope: lo["scope"] == nil ? nil : try reader.string(lo["scope"], at: at + ".location.scope"))
            }
            graph.nodes.append(.init(id: try reader.int(o["id"], at: at + ".id"), op: op,
                                     inputs: try reader.array(o["inputs"], at: at + ".inputs").enumerated().map { try reader.int($1, at: "\(at).inputs[\($0)]") },
                                     type: TensorType(dtype, shape), location: location))
        }
        for (i, out) in try reader.array(root["outputs"], at: "outputs").enumerated() {
            let o = try reader.object(out, at: "outputs[\(i)]")
            try reader.onlyKeys(o, ["name", "value"], at: "outputs[\(i)]")
            graph.outputs.append(.init(name: try reader.string(o["name"], at: "outputs[\(i)].name"), value: try reader.int(o["value"], at: "outputs[\(i)].value")))
        }
        let weights = try reader.string(root["constants"], at: "constants")
        let weightsPath = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(weights).path
        let names = graph.nodes.compactMap { if case .constant(let n) = $0.op { n } else { nil } }
        if !names.isEmpty {
            let file: SafeTensorsFile
            do { file = try SafeTensorsFile(path: weightsPath) } catch let e as SafeTensorsError {
                throw reader.error("constants", "\(e)")
            }
            for n in names {
                do { graph.constants[n] = try file.tensor(n) } catch let e as SafeTensorsError { throw reader.error("constants", "\(e)") }
            }
        }
        do { try Verifier.verify(graph) } catch let e as GraphError { throw GraphError(.format, "\(path): \(e.message)", at: e.location) }
        return (name, graph)
    }
}

/// Typed access to parsed JSON with errors naming the file and the JSON path.
struct JSONReader {
    let file: String

    func error(_ path: String, _ message: String) -> GraphError {
        GraphError(.format, "\(file): \(path.isEmpty ? "document" : path) \(message)")
    }

    func parse(_ data: Data) throws -> Any {
        do { return try JSONSerialization.jsonObject(with: data) } catch { throw GraphError(.format, "\(file): not valid JSON") }
    }

    func object(_ v: Any?, at path: String) throws -> [String: Any] {
        guard let v else { throw error(path, "is missing") }
        guard let o = v as? [String: Any] else { throw error(path, "must be an object") }
        return o
    }

    func array(_ v: Any?, at path: String) throws -> [Any] {
        guard let v else { throw error(path, "is missing") }
        guard let a = v as? [Any] else { throw error(path, "must be an array") }
        return a
    }

    func string(_ v: Any?, at path: String) throws -> String {
        guard let v else { throw error(path, "is missing") }
        guard let s = v as? String else { throw error(path, "must be a string") }
        return s
    }

    func int(_ v: Any?, at path: String) throws -> Int {
        guard let v else { throw error(path, "is missing") }
        guard let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue == Double(n.intValue) else {
            throw error(path, "must be an integer")
        }
        return n.intValue
    }

    func dim(_ v: Any, at path: String) throws -> SymbolicInt {
        if let s = v as? String {
            guard let d = SymbolicInt(parsing: s) else { throw error(path, "'\(s)' is not a dim expression") }
            return d
        }
        return SymbolicInt(try int(v, at: path))
    }

    func onlyKeys(_ o: [String: Any], _ allowed: Set<String>, at path: String) throws {
        if let unknown = Set(o.keys).subtracting(allowed).sorted().first {
            throw error(path.isEmpty ? unknown : "\(path).\(unknown)", "is not a known field (expected one of \(allowed.sorted().joined(separator: ", ")))")
        }
    }
}
