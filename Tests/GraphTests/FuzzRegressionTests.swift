import Foundation
import Testing
@testable import Graph
import Tensors

/// Inputs the model.json fuzzer (Fuzz/, scripts/fuzz.sh) found crashing the graph reader, committed in
/// Fixtures/fuzz/, and the overflow cases behind them: each is now a `GraphError`, never a trap.
@Suite struct GraphFuzzRegressionTests {
    static let directory = Bundle.module.url(forResource: "Fixtures/fuzz", withExtension: nil)!.path

    @Test func everyCrashingInputIsNowAnError() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory).sorted()
        #expect(!names.isEmpty)
        for name in names {
            #expect(throws: GraphError.self, "\(name)") { try GraphFile.load(path: Self.directory + "/" + name) }
        }
    }

    /// The first finding: a dim literal of 130 digits overflowed `n * 10 + d` in the parser.
    @Test func dimExpressionsThatOverflowDoNotParse() {
        #expect(SymbolicInt(parsing: "99999999999999999999") == nil)
        #expect(SymbolicInt(parsing: "9223372036854775807*2") == nil)
        #expect(SymbolicInt(parsing: "-9223372036854775807 - 2") == nil)
        #expect(SymbolicInt(parsing: "4611686018427387904*seq*4") == nil)
        #expect(SymbolicInt(parsing: "9223372036854775807") == SymbolicInt(Int.max))
        #expect(SymbolicInt(parsing: "2*batch*seq - 3") == SymbolicInt(2) * SymbolicInt(symbol: "batch") * SymbolicInt(symbol: "seq") - SymbolicInt(3))
        #expect(SymbolicInt(Int.min).divided(by: -1) == nil)
    }

    /// A one-node graph file whose input has `shape` and whose symbol is `seq <= max`.
    static func write(shape: [Any], max: Int, attributes: [String: String]? = nil) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("graph-bounds-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var node: [String: Any] = ["id": 0, "op": "input", "inputs": [Int](), "attributes": ["name": "\"x\""],
                                   "type": ["dtype": "f32", "shape": shape]]
        if let attributes { node["attributes"] = attributes }
        let document: [String: Any] = ["format": "tcompile.graph/1", "name": "bounds", "constants": "none.safetensors",
                                       "symbols": [["name": "seq", "max": max, "min": 1]], "nodes": [node],
                                       "outputs": [["name": "y", "value": 0]]]
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: dir + "/model.json"))
        return dir + "/model.json"
    }

    /// The error loading the graph file at `path` gives, if any; its directory is removed after.
    static func message(_ path: String) -> String? {
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        do { _ = try GraphFile.load(path: path); return nil } catch { return "\(error)" }
    }

    @Test func unboundedShapesAndSymbolsAreErrors() throws {
        #expect(Self.message(try Self.write(shape: ["seq", 8], max: 64)) == nil, "a plain graph loads")
        let huge = Self.message(try Self.write(shape: ["seq", 8], max: Int(Int32.max) + 1))
        #expect(huge?.contains("symbols[0]: must have 0 <= min <= max") == true, "\(huge ?? "loaded")")
        let wide = Self.message(try Self.write(shape: [1 << 30, 1 << 30], max: 64))
        #expect(wide?.contains("nodes[0].type.shape: holds more than") == true, "\(wide ?? "loaded")")
        let coefficient = Self.message(try Self.write(shape: ["281474976710656*seq"], max: 64))
        #expect(coefficient?.contains("nodes[0].type.shape[0]") == true, "\(coefficient ?? "loaded")")
        let unknown = Self.message(try Self.write(shape: ["past"], max: 64))
        #expect(unknown?.contains("'past', which is not a declared dim") == true, "\(unknown ?? "loaded")")
    }
}
