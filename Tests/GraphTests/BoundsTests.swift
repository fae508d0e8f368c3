import Foundation
import Testing
@testable import Graph
import Tensors
import JSON

/// Issue #21: type inference proves that every index attribute and every result dim stays in bounds
/// for every value of the dims within their declared ranges, or the verifier refuses the graph with
/// an error naming the op and the attribute. Before, each of these graphs verified and read (or
/// allocated) outside its buffers when run.
@Suite struct VerifierBoundsTests {
    /// The verifier's message for a graph in IR text, or nil when it verifies.
    static func refusal(_ text: String) -> String? {
        do { try Verifier.verify(try TextFormat.parse(text)); return nil } catch { return "\(error)" }
    }

    static func slice(_ start: String, _ end: String, seq: String = "seq in 1...32", length: String) -> String? {
        refusal("""
        graph(\(seq)) {
          %0 = input {name = "x"} : f32[1, seq, 4]
          %1 = slice(%0) {dim = 1, start = \(start), end = \(end), step = 1} : f32[1, \(length), 4]
          return %1 as "y"
        }
        """)
    }

    @Test func slicesMustStayInsideTheirDim() {
        #expect(Self.slice("0", "seq", length: "seq") == nil)
        #expect(Self.slice("1", "seq", length: "seq - 1") == nil)
        let past = Self.slice("0", "seq + 1", length: "seq + 1")
        #expect(past?.contains("slice: attribute 'end' = seq + 1 can exceed dim 1 of f32[1, seq, 4] = seq (by up to 1)") == true, "\(past ?? "verified")")
        let last = Self.slice("seq", "seq + 1", length: "1")
        #expect(last?.contains("attribute 'end' = seq + 1 can exceed dim 1") == true, "\(last ?? "verified")")
        let negative = Self.slice("-5", "0", length: "5")
        #expect(negative?.contains("attribute 'start' = -5 can be negative") == true, "\(negative ?? "verified")")
        let backwards = Self.slice("3", "2", length: "-1")
        #expect(backwards?.contains("attribute 'start' = 3 can exceed attribute 'end' = 2") == true, "\(backwards ?? "verified")")
        // A pooler's first token of a sequence whose bound allows it to be empty.
        let empty = Self.slice("0", "1", seq: "seq in 0...32", length: "1")
        #expect(empty?.contains("attribute 'end' = 1 can exceed dim 1 of f32[1, seq, 4] = seq (by up to 1) for seq in 0...32") == true, "\(empty ?? "verified")")
        #expect(Self.slice("0", "1", seq: "seq in 1...32", length: "1") == nil)
        // Bounded by a constant dim: seq may be at most the table's 16 rows.
        let table = { (bound: Int) in Self.refusal("""
            graph(seq in 1...\(bound)) {
              %0 = input {name = "x"} : f32[16, 4]
              %1 = slice(%0) {dim = 0, start = 0, end = seq, step = 1} : f32[seq, 4]
              return %1 as "y"
            }
            """) }
        #expect(table(16) == nil)
        #expect(table(17)?.contains("attribute 'end' = seq can exceed dim 0 of f32[16, 4] = 16 (by up to 1) for seq in 1...17") == true, "\(table(17) ?? "verified")")
    }

    @Test func shapesCannotBeNegative() {
        let reshape = Self.refusal("""
        graph(seq <= 8) {
          %0 = input {name = "x"} : f32[2, seq]
          %1 = reshape(%0) {shape = [-2, -seq]} : f32[-2, -seq]
          return %1 as "y"
        }
        """)
        #expect(reshape?.contains("reshape: attribute 'shape' entry 0 = -2 can be negative (down to -2)") == true, "\(reshape ?? "verified")")
        let fill = Self.refusal("""
        graph() {
          %0 = fill {value = 1.0, shape = [-5], dtype = f32} : f32[-5]
          return %0 as "y"
        }
        """)
        #expect(fill?.contains("fill: attribute 'shape' entry 0 = -5 can be negative") == true, "\(fill ?? "verified")")
        let input = Self.refusal("""
        graph(seq <= 8) {
          %0 = input {name = "x"} : f32[seq - 9]
          return %0 as "y"
        }
        """)
        #expect(input?.contains("input 'x' dim 0 = seq - 9 can be negative") == true, "\(input ?? "verified")")
    }

    @Test func rangesNeedAStepAndTheirDirection() {
        func arange(_ start: String, _ end: String, _ step: Int, _ length: String) -> String? {
            Self.refusal("""
            graph(seq <= 8) {
              %0 = arange {start = \(start), end = \(end), step = \(step), dtype = i64} : i64[\(length)]
              return %0 as "y"
            }
            """)
        }
        #expect(arange("0", "seq", 1, "seq") == nil)
        #expect(arange("5", "0", -1, "5") == nil)
        // Step 0 divided by zero in type inference (a trap) before.
        #expect(arange("0", "5", 0, "5")?.contains("arange: attribute 'step' must not be 0") == true)
        let below = arange("5", "2", 1, "-3")
        #expect(below?.contains("arange: attribute 'start' = 5 can exceed attribute 'end' (step 1 > 0) = 2") == true, "\(below ?? "verified")")
        let symbolic = arange("seq", "3", 1, "-seq + 3")
        #expect(symbolic?.contains("attribute 'start' = seq can exceed") == true, "\(symbolic ?? "verified")")
    }

    @Test func maxAndArgmaxNeedANonEmptyDim() {
        for op in ["max", "argmax", "min", "argmin"] {
            let dtype = op.hasPrefix("arg") ? "i64" : "f32"
            func graph(_ bounds: String) -> String? {
                Self.refusal("""
                graph(\(bounds)) {
                  %0 = input {name = "x"} : f32[2, seq]
                  %1 = \(op)(%0) {dims = [1], keep_dim = false} : \(dtype)[2]
                  return %1 as "y"
                }
                """)
            }
            #expect(graph("seq in 1...8") == nil)
            let empty = graph("seq in 0...8")
            #expect(empty?.contains("\(op): reduces dim 1 of f32[2, seq], which can be empty (seq = 0) for seq in 0...8") == true, "\(empty ?? "verified")")
        }
        // A sum over an empty dim is 0, not a read: allowed.
        #expect(Self.refusal("""
        graph(seq in 0...8) {
          %0 = input {name = "x"} : f32[2, seq]
          %1 = sum(%0) {dims = [1], keep_dim = false} : f32[2]
          return %1 as "y"
        }
        """) == nil)
    }

    @Test func gatherIndicesFitTheirInput() {
        let text = { (rows: Int) in Self.refusal("""
            graph() {
              %0 = input {name = "x"} : f32[3, 4]
              %1 = input {name = "i"} : i64[\(rows), 2]
              %2 = gather(%0, %1) {dim = 1} : f32[\(rows), 2]
              return %2 as "y"
            }
            """) }
        #expect(text(3) == nil)
        #expect(text(5)?.contains("gather: index dim 0 = 5 can exceed input dim 0 of f32[3, 4] = 3") == true, "\(text(5) ?? "verified")")
    }

    @Test func dimsAreDeclaredOnce() throws {
        let twice = Self.refusal("""
        graph(seq <= 4, seq <= 8) {
          %0 = input {name = "x"} : f32[seq]
          return %0 as "y"
        }
        """)
        #expect(twice?.contains("dim 'seq' is declared twice") == true, "\(twice ?? "verified")")
        // The same in model.json, where it trapped (`Duplicate values for key`) when compiled.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bounds-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func load(_ symbols: [[String: Any]]) throws -> String? {
            let document: [String: Any] = [
                "format": "tcompile.graph/1", "name": "bounds", "constants": "none.safetensors", "symbols": symbols,
                "nodes": [["id": 0, "op": "input", "inputs": [Int](), "attributes": ["name": "\"x\""], "type": ["dtype": "f32", "shape": ["seq"]]]],
                "outputs": [["name": "y", "value": 0]]]
            try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: dir + "/model.json"))
            do { _ = try GraphFile.load(path: dir + "/model.json"); return nil } catch { return "\(error)" }
        }
        #expect(try load([["name": "seq", "max": 8]]) == nil)
        let duplicate = try load([["name": "seq", "max": 8], ["name": "seq", "max": 4]])
        #expect(duplicate?.contains("symbols[1].name: dim 'seq' is declared twice") == true, "\(duplicate ?? "loaded")")
        let hostile = try load([["name": "seq", "max": 8], ["name": "a */\n#error", "max": 4]])
        #expect(hostile?.contains("symbols[1].name: 'a */\n#error' is not an identifier") == true, "\(hostile ?? "loaded")")
    }

    /// The issue's example through model.json: `start: "seq"`, `end: "seq + 1"` on a dim of `seq`.
    @Test func modelJSONSliceOutOfBoundsIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bounds-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let document: [String: Any] = [
            "format": "tcompile.graph/1", "name": "bounds", "constants": "none.safetensors",
            "symbols": [["name": "seq", "max": 8, "min": 1]],
            "nodes": [["id": 0, "op": "input", "inputs": [Int](), "attributes": ["name": "\"x\""], "type": ["dtype": "f32", "shape": [1, "seq"]]],
                      ["id": 1, "op": "slice", "inputs": [0], "attributes": ["dim": "1", "start": "seq", "end": "seq + 1", "step": "1"],
                       "type": ["dtype": "f32", "shape": [1, 1]]]],
            "outputs": [["name": "y", "value": 1]]]
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: dir + "/model.json"))
        #expect(throws: GraphError.self) { try GraphFile.load(path: dir + "/model.json") }
        do { _ = try GraphFile.load(path: dir + "/model.json") } catch {
            #expect("\(error)".contains("%1 = slice: slice: attribute 'end' = seq + 1 can exceed dim 1"), "\(error)")
        }
    }

    @Test func rangesOfDimExpressions() {
        let bounds = ["seq": 1...32, "past": 0...100]
        #expect(SymbolicInt(parsing: "seq + past")!.range(over: bounds) == 1...132)
        #expect(SymbolicInt(parsing: "2*seq - past")!.range(over: bounds) == -98...64)
        #expect(SymbolicInt(parsing: "seq*past")!.range(over: bounds) == 0...3200)
        #expect(SymbolicInt(parsing: "batch")!.range(over: bounds) == nil)
        #expect(SymbolicInt(parsing: "4611686018427387904*seq")!.range(over: bounds) == nil)
    }
}

@Suite struct GraphSizeBoundTests {
    @Test func graphsWithTooManyNodesAreRefused() throws {
        let text = """
        {"format": "tcompile.graph/1", "name": "big", "constants": "none.safetensors", "symbols": [],
         "nodes": [{"id": 0, "op": "input", "inputs": [], "attributes": {"name": "\\"x\\""}, "type": {"dtype": "f32", "shape": [2]}},
                   {"id": 1, "op": "relu", "inputs": [0], "type": {"dtype": "f32", "shape": [2]}},
                   {"id": 2, "op": "relu", "inputs": [1], "type": {"dtype": "f32", "shape": [2]}}],
         "outputs": [{"name": "y", "value": 2}]}
        """
        let root = try JSONReader(parsing: Array(text.utf8), file: "big.json")
        #expect(throws: Never.self) { _ = try GraphFile.read(root, path: "/nonexistent/big.json", maximumNodes: 3) }
        do { _ = try GraphFile.read(root, path: "/nonexistent/big.json", maximumNodes: 2); Issue.record("loaded") } catch {
            #expect("\(error)".contains("big.json: nodes: holds 3 nodes, more than the 2 a graph may have"), "\(error)")
        }
        #expect(Limits.maximumNodes == 1_000_000)
    }
}

/// Found by the audit (issue #21): dtype combinations that type inference accepted but the eager
/// kernels stop the process on (`precondition`), so a verified model.json trapped the interpreter.
@Suite struct VerifierDTypeTests {
    static func refusal(_ body: String, _ inputs: String = "%0 = input {name = \"x\"} : bool[4]") -> String? {
        VerifierBoundsTests.refusal("graph() {\n  \(inputs)\n  \(body)\n  return %1 as \"y\"\n}")
    }

    @Test func kernelDTypeRulesAreTypeRules() {
        #expect(Self.refusal("%1 = max(%0) {dims = [0], keep_dim = false} : f32[]")?.contains("max: not defined on bool") == true)
        #expect(Self.refusal("%1 = mean(%0) {dims = [0], keep_dim = false} : f32[]")?.contains("mean: not defined on bool") == true)
        #expect(Self.refusal("%1 = sum(%0) {dims = [0], keep_dim = false} : f32[]") == nil)
        #expect(Self.refusal("%1 = lt_scalar(%0) {scalar = 1.0, scalar_first = false} : bool[4]")?.contains("compare with eq and ne only") == true)
        #expect(Self.refusal("%1 = eq_scalar(%0) {scalar = 1.0, scalar_first = false} : bool[4]") == nil)
        #expect(Self.refusal("%1 = gt(%0, %0) : bool[4]")?.contains("compare with eq and ne only") == true)
        #expect(Self.refusal("%1 = ne(%0, %0) : bool[4]") == nil)
        #expect(Self.refusal("%1 = layer_norm(%0) {normalized_rank = 1, eps = 1e-05, affine = false} : i64[4]",
                             "%0 = input {name = \"x\"} : i64[4]")?.contains("layer_norm: expects f32 operands") == true)
    }
}
