import ArgumentParser
import Foundation
import JSON
import TCompile
import Tokenizers

/// The `tcompile` command line: compile a model.json to a native library, run it, inspect it,
/// benchmark it.
@main
struct TCompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcompile",
        abstract: "An ahead-of-time graph compiler for Transformer models.",
        discussion: "`tcompile model.json -o out/` compiles a traced graph (tcompile.graph/1) into libNAME.a, NAME.h, NAME.weights and module.modulemap for C, Swift or any C FFI.",
        subcommands: [Compile.self, Export.self, Run.self, Inspect.self, Bench.self, Tokenize.self],
        defaultSubcommand: Compile.self)

    /// Picks OpenBLAS's kernels for this CPU (see `OpenBLASCoreType`), then runs the command.
    static func main() {
        OpenBLASCoreType.ensure()
        main(nil)
    }
}

/// Options every subcommand that reads a model shares.
struct ModelOptions: ParsableArguments {
    @Argument(help: "The model: a model.json, either a traced graph (tcompile.graph/1) or a manifest naming a Hugging Face checkpoint (tcompile.model/1).")
    var model: String

    @Option(help: "Threads for the compiled kernels and BLAS (default: the manifest's options.threads, else all cores); for a library, its default thread count.")
    var threads: Int?

    /// `--threads`, else the manifest's `options.threads`, else nil (all cores).
    var threadCount: Int? { threads ?? (try? ModelManifest.read(path: model))?.threads }

    /// Compile options for this machine with the chosen thread count.
    var compileOptions: CompileOptions { CompileOptions(threads: threadCount) }

    func load() throws -> (name: String, graph: Graph) {
        guard FileManager.default.fileExists(atPath: model) else { throw CLIError("\(model): no such file") }
        if let threads, threads < 1 { throw CLIError("--threads must be at least 1") }
        if let count = threadCount { EagerThreads.set(count) }
        return try TCompile.load(model)
    }
}

/// A user-facing error: printed without a stack trace, exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`, turning library errors into clean messages and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let error as ExitCode { throw error } catch let error as ValidationError { throw error } catch {
        FileHandle.standardError.write(Data("tcompile: error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

/// Milliseconds since `start`.
func milliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compile a model into a static library, C header, module map and weights.")

    @OptionGroup var options: ModelOptions

    @Option(name: .shortAndLong, help: "Output directory.")
    var output: String = "out"

    @Option(help: "Library name (a C identifier); defaults to the model's name.")
    var name: String?

    @Option(help: "Extra artifacts, comma separated: obj, ll, asm, ir, dot.")
    var emit: String = ""

    @Option(name: .customShort("O", allowingJoined: true), help: "Optimization level: -O0 (no graph passes), -O1 (canonicalize, fold, CSE, DCE), -O2 (and every fusion).")
    var optimization: Int = 2

    @Option(help: "Print the IR after these passes (comma separated) or 'all'.")
    var dumpAfter: String?

    @Flag(help: "Embed the weights in the library instead of writing NAME.weights.")
    var embedWeights = false

    @Flag(help: "Generate baseline x86-64 code (runs on any x86-64) instead of code for this CPU.")
    var portable = false

    func validate() throws {
        guard (0...2).contains(optimization) else { throw ValidationError("-O takes 0, 1 or 2") }
        if let dumpAfter { do { _ = try DumpSelection(argument: dumpAfter) } catch { throw ValidationError("\(error)") } }
        for kind in emit.split(separator: ",") where !["obj", "ll", "asm", "ir", "dot"].contains(kind) {
            throw ValidationError("--emit: unknown kind '\(kind)' (obj, ll, asm, ir, dot)")
        }
    }

    func run() throws {
        try reportingErrors {
            let start = DispatchTime.now()
            let (modelName, graph) = try options.load()
            let libraryName = name ?? modelName.replacingOccurrences(of: "-", with: "_")
            let outputDirectory = URL(fileURLWithPath: output).standardizedFileURL.path
            var kinds: EmitKinds = []
            for kind in emit.split(separator: ",") {
                switch kind {
                case "obj": kinds.insert(.object)
                case "ll": kinds.insert(.llvmIR)
                case "asm": kinds.insert(.assembly)
                case "ir": kinds.insert(.graph)
                default: kinds.insert(.dot)
                }
            }
            // Refuse before writing anything: no output may land on an input (model.json, its
            // constants, the manifest's checkpoint), and -o must name a directory.
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: outputDirectory, isDirectory: &isDirectory), !isDirectory.boolValue {
                try InputFiles.model(options.model).check(outputs: [outputDirectory])
                throw CLIError("-o \(output): is a file, not a directory")
            }
            try InputFiles.model(options.model).check(outputs: AOTCompiler.outputFiles(
                name: libraryName, directory: outputDirectory, embedWeights: embedWeights, emit: kinds))
            print("compiling \(modelName): \(graph.computeNodeCount) ops, dims \(graph.symbols.map(\.description).joined(separator: ", "))")
            let optimized = try TCompile.optimize(graph, level: optimization,
                                                  dumpAfter: try dumpAfter.map(DumpSelection.init(argument:)) ?? .none,
                                                  dumpSink: { print($0, terminator: "") })
            print(optimized.summary)
            let bounds = Dictionary(uniqueKeysWithValues: graph.symbols.map { ($0.name, $0.max) })
            let flops = optimized.graph.matmulFLOPs(at: bounds)
            print(String(format: "matrix products per call at the bounds (%@): %.3f GFLOP", graph.symbols.map { "\($0.name)=\($0.max)" }.joined(separator: ", "), flops / 1e9))
            let target: HostTarget = portable ? .portable() : .host()
            print("generating code for \(target.cpu) (LLVM -O3)…")
            let result = try AOTCompiler.write(optimized.graph, name: libraryName, to: outputDirectory,
                                               options: CompileOptions(target: target, threads: options.threadCount),
                                               embedWeights: embedWeights, emit: kinds)
            print("target \(target.cpu), workspace \(result.signature.workspaceBytes) bytes, weights \(result.weightsBytes) bytes")
            for file in result.files { print("  wrote \(file)") }
            print(String(format: "compiled in %.2f s", milliseconds(since: start) / 1000))
        }
    }
}

/// Reads named input tensors from a safetensors file, tokenizes `--text`, or makes sample ones for `--dims`.
struct InputOptions: ParsableArguments {
    @Option(help: "Inputs by name (input_ids, attention_mask, …) in a safetensors file.")
    var inputs: String?

    @Option(help: "Text to tokenize as the inputs (repeat for a batch); needs --tokenizer.")
    var text: [String] = []

    @Option(help: "A checkpoint directory with tokenizer.json (or vocab files) for --text, and config.json's id2label for labels.")
    var tokenizer: String?

    @Option(help: "Dim values for sample inputs when no --inputs are given, e.g. batch=1,seq=16.")
    var dims: String?

    func make(for graph: Graph) throws -> [String: Tensor] {
        if let inputs { return try SafeTensorsFile(path: inputs).tensors() }
        if !text.isEmpty {
            guard let tokenizer else { throw CLIError("--text needs --tokenizer DIR (a checkpoint directory with tokenizer files)") }
            var t = try Tokenizer.fromDirectory(tokenizer)
            t.padding = Padding(length: .longest)
            let encodings = try t.encodeBatch(text)
            let length = encodings[0].ids.count
            var out: [String: Tensor] = [:]
            for node in graph.inputNodes {
                guard case .input(let name) = node.op else { continue }
                let values: [Int]
                switch name {
                case "input_ids": values = encodings.flatMap(\.ids)
                case "attention_mask": values = encodings.flatMap(\.attentionMask)
                case "token_type_ids": values = encodings.flatMap(\.typeIds)
                default: throw CLIError("--text cannot fill input '\(name)'; give --inputs")
                }
                out[name] = Tensor(values, shape: [encodings.count, length], dtype: node.type.dtype == .int32 ? .int32 : .int64)
            }
            return out
        }
        var values: [String: Int] = [:]
        for pair in (dims ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let v = Int(parts[1]) else { throw CLIError("--dims: expected name=value, got '\(pair)'") }
            values[String(parts[0])] = v
        }
        for s in graph.symbols where values[s.name] == nil { values[s.name] = min(s.max, 8) }
        return try TCompile.sampleInputs(for: graph, dims: values)
    }

    /// Class names from the tokenizer directory's config.json (`id2label`), if any.
    func labels() -> [Int: String]? {
        guard let tokenizer,
              let config = try? JSONReader(contentsOf: URL(fileURLWithPath: tokenizer).appendingPathComponent("config.json").path),
              let map = try? config.object(at: "id2label").members().map({ ($0.key, try $0.value.string()) }) else { return nil }
        return Dictionary(map.compactMap { k, v in Int(k).map { ($0, v) } }, uniquingKeysWith: { a, _ in a })
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a model eagerly (the interpreter) or compiled, and print or save its outputs.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var inputOptions: InputOptions

    @Flag(help: "How to run it.")
    var mode: Mode = .compiled

    enum Mode: String, EnumerableFlag { case eager, compiled }

    @Option(name: .customShort("O", allowingJoined: true), help: "Optimization level for --compiled, 0–2.")
    var level: Int = 2

    @Option(name: .shortAndLong, help: "Save every output to this safetensors file.")
    var output: String?

    func run() throws {
        try reportingErrors {
            if let output {
                var read = InputFiles.model(options.model)
                if let inputs = inputOptions.inputs { read.add(inputs) }
                if let tokenizer = inputOptions.tokenizer { read.add(directory: tokenizer) }
                try read.check(outputs: [output])
            }
            let (name, graph) = try options.load()
            let inputs = try inputOptions.make(for: graph)
            let start = DispatchTime.now()
            let outputs = mode == .eager ? try Interpreter(graph: graph).run(inputs) : try TCompile.compile(graph, name: "run", level: level, options: options.compileOptions)(inputs)
            print("\(name) (\(mode.rawValue), \(String(format: "%.1f", milliseconds(since: start))) ms including \(mode == .compiled ? "compilation" : "setup"))")
            for o in graph.outputs {
                let t = outputs[o.name]!
                let values = t.toFloatArray()
                let preview = values.prefix(6).map { String(format: "%.5g", $0) }.joined(separator: ", ")
                print("  \(o.name): \(t.dtype) \(t.shape) [\(preview)\(values.count > 6 ? ", …" : "")]")
            }
            if let logits = outputs["logits"], logits.rank == 2, let labels = inputOptions.labels() {
                let probabilities = logits.softmax(dim: -1)
                for (row, best) in logits.argmax(dim: -1).toIntArray().enumerated() {
                    let text = row < inputOptions.text.count ? "\"\(inputOptions.text[row])\" → " : "row \(row) → "
                    print("  \(text)\(labels[best] ?? String(best)) (\(String(format: "%.3f", probabilities[element: row, best])))")
                }
            }
            if let output {
                try SafeTensors.write(outputs, metadata: ["producer": "tcompile run", "mode": mode.rawValue], to: output)
                print("  saved \(output)")
            }
        }
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a model's graph: dims, inputs, outputs, op counts and the IR.")

    @OptionGroup var options: ModelOptions

    @Flag(help: "Print the whole IR text.")
    var ir = false

    @Option(name: .customShort("O", allowingJoined: true), help: "Also run this pass pipeline (0–2) and show what each pass did.")
    var level: Int?

    func run() throws {
        try reportingErrors {
            let (name, graph) = try options.load()
            print("\(name): \(graph.nodes.count) nodes, \(graph.computeNodeCount) ops")
            print("dims: \(graph.symbols.map(\.description).joined(separator: ", "))")
            for node in graph.inputNodes { if case .input(let n) = node.op { print("input  \(n): \(node.type)") } }
            for o in graph.outputs { print("output \(o.name): \(graph.node(o.value)!.type)") }
            let constantBytes = graph.constants.values.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
            print("constants: \(graph.constants.count) tensors, \(constantBytes) bytes")
            var counts: [String: Int] = [:]
            for node in graph.nodes { if case .primitive = node.op { counts[node.op.name, default: 0] += 1 } }
            print("ops: " + counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            if let level {
                let optimized = try TCompile.optimize(graph, level: level)
                print("after -O\(level):")
                print(optimized.summary)
                if ir { print(TextFormat.print(optimized.graph), terminator: "") }
            } else if ir {
                print(TextFormat.print(graph), terminator: "")
            }
        }
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time the interpreter (eager kernels) and the compiled model in one run.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var inputOptions: InputOptions

    @Option(help: "Timed repetitions of each.")
    var repetitions: Int = 10

    func run() throws {
        try reportingErrors {
            let (name, graph) = try options.load()
            let inputs = try inputOptions.make(for: graph)
            let compileStart = DispatchTime.now()
            let compiled = try TCompile.compile(graph, name: "bench", level: 2, options: options.compileOptions)
            let compileMs = milliseconds(since: compileStart)
            let interpreter = Interpreter(graph: graph)
            func median(_ body: () throws -> Void) rethrows -> Double {
                try body()
                var times: [Double] = []
                for _ in 0..<max(1, repetitions) {
                    let start = DispatchTime.now()
                    try body()
                    times.append(milliseconds(since: start))
                }
                return times.sorted()[times.count / 2]
            }
            let eager = try median { _ = try interpreter.run(inputs) }
            let native = try median { _ = try compiled(inputs) }
            print(String(format: "%@: eager %.3f ms, compiled %.3f ms, speed-up %.2fx (compile %.0f ms)", name, eager, native, eager / native, compileMs))
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Trace a Hugging Face checkpoint directory into a model.json (tcompile.graph/1).")

    @Argument(help: "A checkpoint directory: config.json, model.safetensors, tokenizer files.")
    var checkpoint: String

    @Option(help: "The pipeline task: \(ExportTask.allCases.map(\.rawValue).joined(separator: ", ")).")
    var task: String

    @Option(help: "Largest batch the compiled model will accept.")
    var maxBatch: Int = 8

    @Option(help: "Longest sequence the compiled model will accept.")
    var maxSeq: Int = 512

    @Option(name: .shortAndLong, help: "Where to write model.json (its weights go beside it).")
    var output: String = "model.json"

    @Option(help: "The model's name (a C identifier; the library becomes libNAME.a); defaults to the directory's name.")
    var name: String?

    func validate() throws {
        guard ExportTask(rawValue: task) != nil else {
            throw ValidationError("--task: unknown task '\(task)' (\(ExportTask.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    func run() throws {
        try reportingErrors {
            let start = DispatchTime.now()
            let directory = URL(fileURLWithPath: checkpoint)
            // model.json and its weights file must not replace any file of the checkpoint.
            let outputURL = URL(fileURLWithPath: output).standardizedFileURL
            var read = InputFiles()
            read.add(directory: directory.path)
            try read.check(outputs: [outputURL.path, GraphFile.weightsPath(for: outputURL.path)])
            let (traced, graph) = try ModelExport.trace(directory: directory, task: ExportTask(rawValue: task)!, maxBatch: maxBatch, maxSeq: maxSeq)
            let name = self.name ?? traced
            try FileManager.default.createDirectory(at: outputURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            try GraphFile.save(graph, name: name, to: outputURL.path)
            print("traced \(name) (\(task)): \(graph.computeNodeCount) ops, inputs \(graph.inputNodes.compactMap { if case .input(let n) = $0.op { n } else { nil } }.joined(separator: ", ")), outputs \(graph.outputs.map(\.name).joined(separator: ", "))")
            print("wrote \(outputURL.path) in \(String(format: "%.1f", milliseconds(since: start) / 1000)) s")
        }
    }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text, as a compiled model's input_ids (space separated), without padding.")

    @Option(help: "A checkpoint directory with tokenizer.json or vocabulary files.")
    var tokenizer: String

    @Option(help: "The text.")
    var text: String

    func run() throws {
        try reportingErrors {
            // No padding (tokenizer.json may ask for a fixed length): every printed id is a real token,
            // so a caller's attention mask is all ones.
            var t = try Tokenizer.fromDirectory(tokenizer)
            t.padding = nil
            let encoding = try t.encode(text)
            print(encoding.ids.map(String.init).joined(separator: " "))
        }
    }
}
