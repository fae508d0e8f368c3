import Foundation
import Testing
import TCompile

/// What the hostile input set (scripts/hostile/hostile.py) and the graph fuzzer found, each fixed
/// with a typed error; one test per finding, through the `tcompile` executable where the input came in.
@Suite(.serialized) struct HostileSetRegressionTests {
    static func expectRefused(_ arguments: [String], naming words: [String], _ comment: String) throws {
        let r = try CLITests.run(arguments)
        // 1 for errors of the run, 64 for arguments refused before it (ArgumentParser's usage status).
        #expect(r.status == 1 || r.status == 64, "\(comment): status \(r.status): \(r.output)")
        let line = r.output.split(separator: "\n").first { $0.hasPrefix("tcompile: error:") }
        #expect(line != nil, "\(comment): no error line in \(r.output)")
        for word in words { #expect(r.output.contains(word), "\(comment): does not name '\(word)': \(r.output)") }
    }

    /// `-O3` with `--eager` passed unchecked (the level was unused); `--top-k 0` printed no label;
    /// `bench --repetitions 0` silently ran once.
    @Test func levelTopKAndRepetitionsAreCheckedInEveryMode() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = dir + "/model.json"
        try Self.expectRefused(["run", model, "--eager", "-O3", "--dims", "batch=1,seq=4"], naming: ["-O"], "run --eager -O3")
        try Self.expectRefused(["inspect", model, "-O", "5"], naming: ["-O"], "inspect -O 5")
        try Self.expectRefused(["run", model, "--eager", "--top-k", "0", "--dims", "batch=1,seq=4"], naming: ["--top-k"], "--top-k 0")
        try Self.expectRefused(["bench", model, "--repetitions", "0", "--dims", "batch=1,seq=4"], naming: ["--repetitions"], "--repetitions 0")
        #expect(try CLITests.run(["run", model, "--eager", "-O1", "--dims", "batch=1,seq=4"]).status == 0)
    }

    /// `--dims seq=8,seq=9` kept one of the two values without a word.
    @Test func aDimGivenTwiceIsAnError() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.expectRefused(["run", dir + "/model.json", "--eager", "--dims", "batch=1,seq=8,seq=9"], naming: ["seq", "twice"], "--dims")
    }

    /// A tensor in `--inputs` that the model has no input for was ignored (a `position_ids` the user
    /// thought was used, or a name with a path); `--inputs` with `--dims` or `--text` let one of them win.
    @Test func inputsFilesHoldOnlyTheModelsInputs() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = dir + "/model.json", ids = Tensor([1, 2, 3], shape: [1, 3])
        try SafeTensors.write(["input_ids": ids], to: dir + "/good.safetensors")
        try SafeTensors.write(["input_ids": ids, "position_ids": Tensor([0, 1, 2], shape: [1, 3])], to: dir + "/extra.safetensors")
        try SafeTensors.write(["input_ids": ids, "../../input_ids": ids], to: dir + "/path.safetensors")
        #expect(try CLITests.run(["run", model, "--eager", "--inputs", dir + "/good.safetensors"]).status == 0)
        try Self.expectRefused(["run", model, "--eager", "--inputs", dir + "/extra.safetensors"], naming: ["position_ids", "input_ids"], "extra")
        try Self.expectRefused(["run", model, "--eager", "--inputs", dir + "/path.safetensors"], naming: ["../../input_ids"], "path")
        try Self.expectRefused(["run", model, "--eager", "--inputs", dir + "/good.safetensors", "--dims", "batch=1,seq=3"],
                               naming: ["--inputs", "--dims"], "--inputs with --dims")
    }

    /// An empty `--text-file` or stdin said "--text - / --text-file: no text" without saying which.
    @Test func emptyTextSourcesAreNamed() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "\n  \r\n\t\n".write(toFile: dir + "/blank.txt", atomically: true, encoding: .utf8)
        try Self.expectRefused(["run", dir + "/model.json", "--eager", "--tokenizer", dir, "--text-file", dir + "/blank.txt"],
                               naming: ["--text-file", "blank.txt", "no text"], "blank file")
    }

    /// A model.json with `"outputs": []` loaded and compiled into a library with no outputs.
    @Test func aGraphWithoutOutputsIsRefused() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var text = try String(contentsOfFile: dir + "/model.json", encoding: .utf8)
        let range = try #require(text.range(of: #""outputs" : \[[^\]]*\]"#, options: .regularExpression))
        text.replaceSubrange(range, with: #""outputs" : []"#)
        try text.write(toFile: dir + "/model.json", atomically: true, encoding: .utf8)
        #expect(throws: GraphError.self) { _ = try GraphFile.load(path: dir + "/model.json") }
        try Self.expectRefused(["inspect", dir + "/model.json"], naming: ["outputs", "at least one output"], "no outputs")
    }

    /// Found by fuzz-graph: a declared dim that no input carries and no op uses. The interpreter ran
    /// the graph, the compiled model refused it (it cannot give that dim a value); both refuse now.
    @Test func anUnusedDimNoInputCarriesIsRefusedByBoth() throws {
        let graph = try TextFormat.parse("""
        graph(n <= 8, extra <= 3) {
          %0 = input {name = "x"} : f32[n]
          %1 = exp(%0) : f32[n]
          return %1 as "y"
        }
        """)
        try Verifier.verify(graph)
        let x = Tensor([0.5, 1, 2], shape: [3])
        #expect(throws: GraphError.self) { _ = try Interpreter(graph: graph).run(["x": x]) }
        #expect(throws: (any Error).self) { _ = try TCompile.compile(graph)(["x": x]) }
        do { _ = try Interpreter(graph: graph).run(["x": x]) } catch {
            #expect("\(error)".contains("dim 'extra' is not the size of any input dim"), "\(error)")
        }
    }

    /// Fuzz-graph finding 6: compiled without the pass pipeline (`-O0`, no dead-code elimination), a
    /// graph whose output does not depend on its lookup refused ids out of the table, which the
    /// interpreter (running only what outputs need) accepted. The compiled code now runs only live
    /// nodes too, at every level; a live lookup still refuses them.
    @Test func aDeadLookupDoesNotRefuseARunAtAnyLevel() throws {
        let graph = try TextFormat.parse("""
        graph(seq <= 16) {
          %0 = input {name = "input_ids"} : i64[1, seq]
          %1 = constant {name = "table"} : f32[10, 4]
          %2 = index_select(%1, %0) {dim = 0} : f32[1, seq, 4]
          %3 = arange() {start = 0, end = seq, step = 1, dtype = i64} : i64[seq]
          %4 = cast(%3) {dtype = f32} : f32[seq]
          %5 = sum(%4) {dims = [0], keep_dim = false} : f32[]
          return %5 as "steps"
        }
        """, constants: ["table": Tensor.randn([10, 4], seed: 3)])
        try Verifier.verify(graph)
        let ids = Tensor([1, 10, 3], shape: [1, 3], dtype: .int64)
        #expect(try Interpreter(graph: graph).run(["input_ids": ids])["steps"]?.item() == 3)
        for level in [0, 2] {
            let outputs = try TCompile.compile(graph, name: "dead", level: level, options: CompileOptions(cache: nil))(["input_ids": ids])
            #expect(outputs["steps"]?.item() == 3, "level \(level)")
        }
        let live = try TextFormat.parse("""
        graph(seq <= 16) {
          %0 = input {name = "input_ids"} : i64[1, seq]
          %1 = constant {name = "table"} : f32[10, 4]
          %2 = index_select(%1, %0) {dim = 0} : f32[1, seq, 4]
          return %2 as "rows"
        }
        """, constants: ["table": Tensor.randn([10, 4], seed: 3)])
        for level in [0, 2] {
            #expect(throws: (any Error).self, "level \(level)") {
                _ = try TCompile.compile(live, name: "live", level: level, options: CompileOptions(cache: nil))(["input_ids": ids])
            }
        }
    }

    /// A T5 config with `d_kv: 0` heard only that seq2seq export is not available: export names
    /// the field.
    @Test func exportNamesABadConfigField() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../TransformersTests/Fixtures").standardized
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("t5-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("t5-v1_1"), to: dir)
        let configURL = dir.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        #expect(try ModelExport.load(directory: dir, task: nil).task == .text2textGeneration)
        config["d_kv"] = 0
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        #expect { _ = try ModelExport.load(directory: dir, task: nil) } throws: { "\($0)".contains("d_kv") }
    }

    /// A shape over an undeclared name was "unbounded or exceeds 2^48"; it says the name is no
    /// declared dim (and an `arange` with `"dtype": "f64"`, in the hostile set, is a wrong dtype).
    @Test func graphFileErrorsSayWhatIsWrong() throws {
        let dir = try CLITests.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let url = URL(fileURLWithPath: dir + "/model.json")
        var document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var nodes = try #require(document["nodes"] as? [[String: Any]])
        var type = try #require(nodes[0]["type"] as? [String: Any])
        type["shape"] = ["batch", "len"]
        nodes[0]["type"] = type
        document["nodes"] = nodes
        try JSONSerialization.data(withJSONObject: document).write(to: url)
        #expect { _ = try GraphFile.load(path: dir + "/model.json") } throws: { "\($0)".contains("'len', which is not a declared dim") }
    }

    /// `export --max-batch 2^40` wrote a model.json whose dim bound no reader loads (at most 2^31 - 1).
    @Test func exportBoundsFitAGraphFile() throws {
        let checkpoint = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../samples/classify/model").standardized.path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bounds-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.expectRefused(["export", checkpoint, "-o", dir + "/model.json", "--max-batch", "\(1 << 40)", "--max-seq", "16"],
                               naming: ["--max-batch", "2147483647"], "--max-batch 2^40")
        #expect(!FileManager.default.fileExists(atPath: dir + "/model.json"))
    }
}
