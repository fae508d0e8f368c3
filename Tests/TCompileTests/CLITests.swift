import Foundation
import Testing
import TCompile

/// The `tcompile` executable, end to end, on a small traced model.
@Suite(.serialized) struct CLITests {
    static var binary: String {
        // The test bundle sits beside the products in .build/<config>/.
        let products = Bundle.main.bundleURL.deletingLastPathComponent()
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [products, Bundle(for: Marker.self).bundleURL.deletingLastPathComponent(), executable] {
            let path = candidate.appendingPathComponent("tcompile").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/tcompile").standardized.path
    }
    final class Marker {}

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(binary, arguments)
    }

    /// Runs `executable` (with `environment` added to this process's, in `directory` when given) and
    /// returns its status and its output and errors together.
    static func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           directory: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func modelDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let table = Tensor.randn([12, 8], seed: 1), w = Tensor.randn([8, 3], seed: 2)
        let graph = try Tracer.trace(inputs: [("input_ids", Tensor([1, 2, 3], shape: [1, 3]))],
                                     dynamicDims: [DynamicDim(input: "input_ids", dim: 0, symbol: "batch", max: 4),
                                                   DynamicDim(input: "input_ids", dim: 1, symbol: "seq", max: 16)],
                                     constants: ["embeddings.weight": table, "classifier.weight": w]) { inputs in
            [("logits", table.indexSelect(dim: 0, index: inputs["input_ids"]!).mean(dim: 1).matmul(w))]
        }
        try GraphFile.save(graph, name: "tiny_classifier", to: dir + "/model.json")
        return dir
    }

    @Test func compileWritesTheLibraryAndArtifacts() throws {
        let dir = try Self.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (status, output) = try Self.run([dir + "/model.json", "-o", dir + "/out", "--emit", "ir,dot,ll", "-O2"])
        #expect(status == 0, "\(output)")
        for file in ["libtiny_classifier.a", "tiny_classifier.h", "tiny_classifier.weights", "module.modulemap", "tiny_classifier.ir", "tiny_classifier.dot", "tiny_classifier.ll"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/out/" + file), "\(file)")
        }
        #expect(output.contains("compiled in") && output.contains("plan-memory"), "pass statistics are printed")
        let dumped = try Self.run([dir + "/model.json", "-o", dir + "/out2", "--dump-after", "fuse-epilogue"])
        #expect(dumped.status == 0 && dumped.output.contains("IR after fuse-epilogue"), "\(dumped.output)")
    }

    /// `--time-report` names every phase of an AOT compile and of a JIT compile; with the compile cache, the
    /// second `run --compiled` reads the machine code back (no LLVM phases) and `--no-cache` compiles again.
    @Test func timeReportAndCompileCache() throws {
        let dir = try Self.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        setenv("TCOMPILE_CACHE_DIR", dir + "/cache", 1)
        defer { unsetenv("TCOMPILE_CACHE_DIR") }
        let aot = try Self.run([dir + "/model.json", "-o", dir + "/out", "--time-report"])
        #expect(aot.status == 0, "\(aot.output)")
        for phase in ["time report:", "loading (and tracing)", "pass plan-memory", "IR emission", "LLVM optimization",
                      "weight packing", "machine code", "writing", "total"] {
            #expect(aot.output.contains(phase), "\(phase) in \(aot.output)")
        }
        let arguments = ["run", dir + "/model.json", "--dims", "batch=1,seq=4", "--compiled", "--time-report"]
        let cold = try Self.run(arguments)
        #expect(cold.status == 0 && cold.output.contains("LLVM optimization") && cold.output.contains("compile cache store"), "\(cold.output)")
        let warm = try Self.run(arguments)
        #expect(warm.status == 0 && warm.output.contains("compile cache lookup") && !warm.output.contains("LLVM optimization"), "\(warm.output)")
        let uncached = try Self.run(arguments + ["--no-cache"])
        #expect(uncached.status == 0 && uncached.output.contains("LLVM optimization") && !uncached.output.contains("compile cache"), "\(uncached.output)")
    }

    /// A command that runs no eager kernel stops OpenBLAS's idle workers at its start
    /// (`EagerThreads.stopIdleWorkers`); a matrix product it still runs (constant folding of two
    /// constants' product, large enough for OpenBLAS to split over its threads) starts them again and
    /// gives the eager run's result.
    @Test func aCommandThatStoppedTheBLASWorkersStillMultipliesMatrices() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blas-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = Tensor.randn([256, 256], seed: 1), b = Tensor.randn([256, 256], seed: 2)
        let graph = try Tracer.trace(inputs: [("x", Tensor.randn([2, 256], seed: 3))],
                                     dynamicDims: [DynamicDim(input: "x", dim: 0, symbol: "batch", max: 4)],
                                     constants: ["a": a, "b": b]) { inputs in [("y", inputs["x"]!.matmul(a.matmul(b)))] }
        try GraphFile.save(graph, name: "folded", to: dir + "/model.json")
        try SafeTensors.write(["x": Tensor.randn([3, 256], seed: 4)], to: dir + "/in.safetensors")
        let eager = try Self.run(["run", dir + "/model.json", "--inputs", dir + "/in.safetensors", "--eager", "-o", dir + "/eager.safetensors"])
        let compiled = try Self.run(["run", dir + "/model.json", "--inputs", dir + "/in.safetensors", "--compiled", "--no-cache",
                                     "-o", dir + "/compiled.safetensors"])
        let library = try Self.run([dir + "/model.json", "-o", dir + "/lib", "--no-cache"])
        #expect(eager.status == 0 && compiled.status == 0 && library.status == 0, "\(eager.output)\(compiled.output)\(library.output)")
        let x = try SafeTensorsFile(path: dir + "/eager.safetensors").tensor("y").toFloatArray()
        let y = try SafeTensorsFile(path: dir + "/compiled.safetensors").tensor("y").toFloatArray()
        #expect(x.count == 3 * 256 && x.count == y.count)
        for (e, c) in zip(x, y) where !(Swift.abs(e - c) <= 1e-3 * (1 + Swift.abs(e))) {
            Issue.record("compiled \(c), eager \(e)")
            break
        }
    }

    @Test func runEagerAndCompiledAgreeAndSave() throws {
        let dir = try Self.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SafeTensors.write(["input_ids": Tensor([3, 1, 4, 1, 5, 9], shape: [2, 3])], to: dir + "/in.safetensors")
        let eager = try Self.run(["run", dir + "/model.json", "--inputs", dir + "/in.safetensors", "--eager", "-o", dir + "/eager.safetensors"])
        let compiled = try Self.run(["run", dir + "/model.json", "--inputs", dir + "/in.safetensors", "--compiled", "-o", dir + "/compiled.safetensors"])
        #expect(eager.status == 0 && compiled.status == 0, "\(eager.output)\(compiled.output)")
        let a = try SafeTensorsFile(path: dir + "/eager.safetensors").tensor("logits")
        let b = try SafeTensorsFile(path: dir + "/compiled.safetensors").tensor("logits")
        #expect(a.shape == [2, 3])
        for (x, y) in zip(a.toFloatArray(), b.toFloatArray()) { #expect(Swift.abs(x - y) <= 1e-4 * (1 + Swift.abs(y))) }
    }

    @Test func inspectAndBench() throws {
        let dir = try Self.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inspect = try Self.run(["inspect", dir + "/model.json", "--ir"])
        #expect(inspect.status == 0 && inspect.output.contains("input  input_ids: i64[batch, seq]") && inspect.output.contains("index_select"))
        let bench = try Self.run(["bench", dir + "/model.json", "--dims", "batch=2,seq=8", "--repetitions", "3"])
        #expect(bench.status == 0 && bench.output.contains("speed-up"), "\(bench.output)")
    }

    @Test func errorsAreMessagesWithExitCodes() throws {
        let dir = try Self.modelDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = try Self.run([dir + "/nope.json"])
        #expect(missing.status == 1 && missing.output.contains("no such file") && !missing.output.contains("Fatal"))
        let badLevel = try Self.run([dir + "/model.json", "-O7"])
        #expect(badLevel.status == 64 && badLevel.output.contains("-O takes"))
        let badPass = try Self.run([dir + "/model.json", "--dump-after", "no-such-pass"])
        #expect(badPass.status == 64 && badPass.output.contains("unknown pass 'no-such-pass'"), "\(badPass.output)")
        let overwrite = try Self.run(["run", dir + "/model.json", "--dims", "batch=1,seq=2", "-o", dir + "/model.json"])
        #expect(overwrite.status == 1 && overwrite.output.contains("refusing to overwrite"))
        try "{\"format\": \"tcompile.graph/1\"}".write(toFile: dir + "/broken.json", atomically: true, encoding: .utf8)
        let broken = try Self.run(["inspect", dir + "/broken.json"])
        #expect(broken.status == 1 && broken.output.contains("name: is missing"), "\(broken.output)")
        for threads in ["0", "-1", "2147483648"] {
            let result = try Self.run(["bench", dir + "/model.json", "--threads=\(threads)"])
            #expect(result.status == 64 && result.output.contains("--threads must be 1 to 256, got \(threads)"), "\(result.output)")
        }
        let badName = try Self.run([dir + "/model.json", "--name", "2layer", "-o", dir + "/out"])
        #expect(badName.status == 64 && badName.output.contains("'2layer' is not a C identifier"), "\(badName.output)")
    }
}

/// `tcompile.model/2` manifests: a checkpoint directory traced on the fly, and every field checked.
@Suite(.serialized) struct ManifestTests {
    static let checkpoint = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../samples/classify/model").standardized.path

    static func write(_ fields: [String: Any]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/classify", withDestinationPath: checkpoint)
        var manifest: [String: Any] = ["format": "tcompile.model/2", "name": "classify", "checkpoint": "classify", "model_type": "bert",
                                       "task": "text-classification", "dynamic_dims": ["batch": ["max": 4], "seq": ["max": 32]],
                                       "options": ["threads": 1]]
        for (k, v) in fields { manifest[k] = v is NSNull ? nil : v }
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: dir + "/model.json"))
        return dir + "/model.json"
    }

    @Test func manifestRunsAndCompiles() throws {
        let path = try Self.write([:])
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let run = try CLITests.run(["run", path, "--tokenizer", Self.checkpoint, "--text", "Simmer the garlic sauce until it is creamy."])
        #expect(run.status == 0 && run.output.contains("→ cooking"), "\(run.output)")
        let compile = try CLITests.run([path, "-o", (path as NSString).deletingLastPathComponent + "/out"])
        #expect(compile.status == 0 && compile.output.contains("libclassify.a"), "\(compile.output)")
    }

    /// An absolute checkpoint path is used as written (it was joined to the manifest's folder).
    @Test func anAbsoluteCheckpointPathIsUsedAsWritten() throws {
        let path = try Self.write(["checkpoint": Self.checkpoint])
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let result = try CLITests.run(["inspect", path])
        #expect(result.status == 0 && result.output.contains("classify"), "\(result.output)")
    }

    @Test(arguments: [
        ("colour", "\"red\"", "colour: is not a known field"),
        ("checkpoint", "\"nowhere\"", "is not a checkpoint directory"),
        ("model_type", "\"gpt2\"", "is 'gpt2' but the checkpoint's config.json says 'bert'"),
        ("task", "\"masked\"", "'masked' is not a task of bert"),
        ("task", "\"text-generation\"", "'text-generation' is not a task of bert"),
        ("name", "\"2layer\"", "'2layer' is not a C identifier"),
        ("dynamic_dims", "{\"batch\": {\"max\": 4}, \"seq\": {\"max\": 999}}", "exceeds the 64 positions"),
        ("dynamic_dims", "{\"batch\": {\"max\": 4}}", "dynamic_dims.seq: is missing"),
        ("outputs", "[\"pooler_output\"]", "'pooler_output' is not an output"),
        ("options", "{\"precision\": \"f16\"}", "options.precision: 'f16' is not supported (accepted: f32, fp32, bf16, int8)"),
        ("options", "{\"threads\": 0}", "options.threads: must be 1 to 256, got 0"),
        ("format", "\"tcompile.model/3\"", "format must be"),
        ("format", "\"tcompile.model/1\"", "name the Hugging Face task in \"task\""),
    ])
    func errorsNameTheField(_ field: String, _ json: String, _ fragment: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        let path = try Self.write([field: value])
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let result = try CLITests.run(["inspect", path])
        #expect(result.status == 1 && result.output.contains(fragment), "\(field): \(result.output)")
    }
}

extension CLITests {
    /// `tcompile tokenize` prints real tokens only, even when tokenizer.json asks for fixed-length
    /// padding (MiniLM's pads to 128), so a C caller's attention mask is all ones.
    @Test func tokenizeDoesNotPad() throws {
        let checkpoint = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../TransformersTests/Fixtures/bert-fill-mask").standardized.path
        let result = try CLITests.run(["tokenize", "--tokenizer", checkpoint, "--text", "Hello, my dog is cute."])
        #expect(result.status == 0)
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "101 7592 1010 2026 3899 2003 10140 1012 102", "\(result.output)")
    }
}
