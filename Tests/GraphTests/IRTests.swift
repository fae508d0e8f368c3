import Foundation
import Testing
import Tensors
@testable import Graph

@Suite struct SymbolicIntTests {
    @Test func arithmeticIsCanonical() {
        let b = SymbolicInt(symbol: "batch"), s = SymbolicInt(symbol: "seq"), p = SymbolicInt(symbol: "past")
        #expect((b * s).description == "batch*seq")
        #expect((s + p) == (p + s))
        #expect((s * 12 - s * 2).description == "10*seq")
        #expect((b * s + 3 - b * s).constant == 3)
        #expect(((s + p) * b).description == "batch*past + batch*seq")
        #expect((s * 12).divided(by: 4) == s * 3)
        #expect((b * s * 6).divided(by: s * 2) == b * 3)
        #expect((s + 1).divided(by: 2) == nil)
        #expect((b * s + p).evaluate(["batch": 2, "seq": 5, "past": 7]) == 17)
        #expect((b * s).evaluate(["batch": 2]) == nil)
    }

    @Test(arguments: ["batch*seq + 3", "past + seq", "-2*seq", "7", "0", "batch*past - 3*seq + 1"])
    func printsAndParses(_ text: String) throws {
        let v = try #require(SymbolicInt(parsing: text))
        #expect(v.description == text)
    }

    @Test func rejectsMalformedExpressions() {
        for bad in ["", "seq +", "* 2", "2 seq", "seq ** 2", "(seq)"] { #expect(SymbolicInt(parsing: bad) == nil, "\(bad)") }
    }

    @Test func fitRecoversPolynomialsAndRejectsTheRest() throws {
        let points = try #require(SymbolicFit.design([("batch", 8), ("seq", 64)]))
        func fit(_ f: ([String: Int]) -> Int) -> SymbolicInt? {
            SymbolicFit.fit(points.map { ($0, f($0)) }, symbols: ["batch", "seq"])
        }
        #expect(fit { $0["batch"]! * $0["seq"]! }?.description == "batch*seq")
        #expect(fit { 12 * $0["batch"]! }?.description == "12*batch")
        #expect(fit { $0["seq"]! * $0["seq"]! - 1 }?.description == "seq*seq - 1")
        #expect(fit { _ in 768 }?.description == "768")
        #expect(fit { $0["seq"]! * $0["seq"]! * $0["seq"]! } == nil)
        #expect(fit { ($0["seq"]! * 37) % 11 } == nil)
    }
}

@Suite struct TextFormatTests {
    @Test func printParsePrintIsIdentity() throws {
        let graph = try traceTiny()
        let text = TextFormat.print(graph)
        let parsed = try TextFormat.parse(text, constants: graph.constants)
        try Verifier.verify(parsed)
        #expect(TextFormat.print(parsed) == text)
        #expect(parsed.nodes == graph.nodes)
    }

    @Test(arguments: [
        ("graph() {\n  %0 = input {name = \"x\"} : f32[2]\n  return %0 as \"y\"\n", "missing closing"),
        ("graph() {\n  %0 = frobnicate(%1) : f32[2]\n}", "unknown op 'frobnicate'"),
        ("graph() {\n  %0 = input {name = \"x\"} : f99[2]\n}", "unknown dtype"),
        ("graph() {\n  %0 = input {name = \"x\"} : f32[2]\n  %1 = softmax(%0) : f32[2]\n}", "missing attribute 'dim'"),
        ("graph() {\n  %0 = input {name = \"x\"} : f32[2]\n  %1 = exp(%0) {dim = 1} : f32[2]\n}", "unknown attribute 'dim'"),
        ("graph(seq <= ) {\n}", "expected an integer"),
        ("graph() {\n  %0 = input {name = \"x\"} : f32[se q]\n}", "not an integer expression"),
    ])
    func parseErrorsNameTheProblem(_ text: String, _ fragment: String) {
        do {
            _ = try TextFormat.parse(text)
            Issue.record("parsed malformed text")
        } catch let e as GraphError {
            #expect(e.kind == .parse && e.message.contains(fragment), "\(e)")
        } catch { Issue.record("\(error)") }
    }
}

@Suite struct VerifierTests {
    static func base() -> Graph {
        var b = GraphBuilder(symbols: [DimSymbol("seq", max: 16)])
        let x = b.input("x", TensorType(.float32, [SymbolicInt(symbol: "seq"), 4]))
        let w = b.constant("w", Tensor.ones([4, 4]))
        let y = try! b.add(.matmul, [x, w])
        b.output("y", y)
        return b.graph
    }

    @Test func theBaseGraphVerifies() throws { try Verifier.verify(Self.base()) }

    @Test(arguments: [
        "operand %7 is not defined", "defined twice", "differs from inferred", "undeclared dim",
        "has no tensor", "holds f32[4, 4] but is typed", "declared twice", "refers to undefined value",
        "output 'y' is declared twice", "empty bounds", "inner dims differ",
    ])
    func everyViolationIsReported(_ fragment: String) {
        var g = Self.base()
        switch fragment {
        case "operand %7 is not defined": g.nodes[2].inputs[1] = 7
        case "defined twice": g.nodes[2].id = 1
        case "differs from inferred": g.nodes[2].type = TensorType(.float32, [4, 4])
        case "undeclared dim": g.nodes[0].type = TensorType(.float32, [SymbolicInt(symbol: "batch"), 4])
        case "has no tensor": g.constants = [:]
        case "holds f32[4, 4] but is typed": g.nodes[1].type = TensorType(.float32, [4, 5])
        case "declared twice": g.nodes.insert(.init(id: 9, op: .input("x"), inputs: [], type: TensorType(.float32, [2])), at: 1)
        case "refers to undefined value": g.outputs[0].value = 42
        case "output 'y' is declared twice": g.outputs.append(g.outputs[0])
        case "empty bounds": g.symbols[0].max = 0
        default: g.nodes[1].type = TensorType(.float32, [3, 4]); g.constants["w"] = Tensor.ones([3, 4])
        }
        do {
            try Verifier.verify(g)
            Issue.record("verified a broken graph (\(fragment))")
        } catch let e as GraphError {
            #expect(e.kind == .verification && e.message.contains(fragment), "\(e)")
        } catch { Issue.record("\(error)") }
    }

    @Test func errorsNameTheSourceLine() {
        var g = Self.base()
        g.nodes[2].location = .init(file: "Sources/Model.swift", line: 42, scope: "layer.0")
        g.nodes[2].type = TensorType(.float32, [1])
        do { try Verifier.verify(g) } catch let e as GraphError {
            #expect(e.description.contains("%2 = matmul") && e.description.contains("Sources/Model.swift:42 (layer.0)"))
        } catch { Issue.record("\(error)") }
    }
}

@Suite struct InterpreterTests {
    @Test func checksInputsAgainstTheirTypes() throws {
        let interpreter = Interpreter(graph: VerifierTests.base())
        #expect(try interpreter.run(["x": Tensor.ones([3, 4])])["y"]!.toFloatArray() == [Float](repeating: 4, count: 12))
        for (inputs, fragment) in [
            ([String: Tensor](), "missing input 'x'"),
            (["x": Tensor.ones([3, 5])], "expected f32[seq, 4]"),
            (["x": Tensor.ones([17, 4])], "outside its bounds"),
            (["x": Tensor([1, 2], shape: [1, 2])], "dtype i64"),
        ] {
            do { _ = try interpreter.run(inputs); Issue.record("accepted \(fragment)") } catch let e as GraphError {
                #expect(e.message.contains(fragment), "\(e)")
            }
        }
    }
}

@Suite struct DOTAndJSONTests {
    @Test func dotRendersWithGraphviz() throws {
        let dot = DOTExport.dot(try traceTiny(), name: "tiny")
        #expect(dot.hasPrefix("digraph \"tiny\"") && dot.contains("matmul"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dot-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("g.dot")
        try dot.write(to: input, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dot")
        process.arguments = ["-Tsvg", input.path, "-o", dir.appendingPathComponent("g.svg").path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let svg = try String(contentsOf: dir.appendingPathComponent("g.svg"), encoding: .utf8)
        #expect(svg.contains("<svg") && svg.contains("last_hidden_state"))
    }

    @Test func modelJSONRoundTrips() throws {
        let graph = try traceTiny()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mj-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.json").path
        try GraphFile.save(graph, name: "tiny", to: path)
        let (name, loaded) = try GraphFile.load(path: path)
        #expect(name == "tiny")
        #expect(TextFormat.print(loaded) == TextFormat.print(graph))
        let inputs = Dictionary(uniqueKeysWithValues: TinyModel.example(batch: 2, seq: 9))
        let a = try Interpreter(graph: graph).run(inputs), b = try Interpreter(graph: loaded).run(inputs)
        #expect(a["last_hidden_state"]!.toFloatArray() == b["last_hidden_state"]!.toFloatArray())
    }

    @Test(arguments: [
        ("unknown field", "\"colour\": 1", "colour: is not a known field"),
        ("bad format", "FORMAT", "format: is 'tcompile.graph/9'"),
        ("missing weights", "WEIGHTS", "cannot open"),
        ("bad shape", "SHAPE", "nodes[0].type.shape[0]: 'se q' is not a dim expression"),
        ("dangling reference", "DANGLING", "operand %99 is not defined"),
    ])
    func modelJSONErrorsNameTheField(_ label: String, _ edit: String, _ fragment: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mj-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.json").path
        try GraphFile.save(VerifierTests.base(), name: "base", to: path)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        var nodes = json["nodes"] as! [[String: Any]]
        switch edit {
        case "FORMAT": json["format"] = "tcompile.graph/9"
        case "WEIGHTS": json["constants"] = "missing.safetensors"
        case "SHAPE": var t = nodes[0]["type"] as! [String: Any]; t["shape"] = ["se q", 4]; nodes[0]["type"] = t
        case "DANGLING": nodes[2]["inputs"] = [0, 99]
        default: json["colour"] = 1
        }
        json["nodes"] = nodes
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        do { _ = try GraphFile.load(path: path); Issue.record("loaded a bad model.json (\(label))") } catch let e as GraphError {
            #expect(e.description.contains(fragment) && e.description.contains("model.json"), "\(label): \(e)")
        }
    }
}
