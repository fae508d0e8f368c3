import ArgumentParser
import Foundation
import JSON
import TCompile
import Transformers
import Tokenizers

/// The `tcompile` command line: compile a model.json to a native library, run it, inspect it,
/// benchmark it.
@main
struct TCompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcompile",
        abstract: "An ahead-of-time graph compiler for Transformer models.",
        discussion: "`tcompile model.json -o out/` compiles a traced graph (tcompile.graph/1) into libNAME.a, NAME.h, NAME.weights and module.modulemap for C, Swift or any C FFI. `tcompile --version` prints the versions of TCompile, LLVM and OpenBLAS and the CPU code is generated for.",
        subcommands: [Compile.self, Export.self, Run.self, Generate.self, Inspect.self, Bench.self, Tokenize.self, Families.self],
        defaultSubcommand: Compile.self)

    /// Runs the command, after picking OpenBLAS's kernels for this CPU when it runs eager kernels (see
    /// `OpenBLASCoreType`). Every error, the argument parser's included, is one line
    /// `tcompile: error: …` on stderr.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments == ["--version"] || arguments == ["version"] {
            OpenBLASCoreType.ensure()
            print(versionText())
            return
        }
        do {
            var command = try parseAsRoot(arguments)
            if (command as? EagerKernelCommand)?.runsEagerKernels == true { OpenBLASCoreType.ensure() } else { EagerThreads.stopIdleWorkers() }
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)   // the message, if any, is printed already (`reportingErrors`)
        } catch {
            let code = exitCode(for: error)
            if code == .success {   // --help, help SUBCOMMAND
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }.joined(separator: " ")
            FileHandle.standardError.write(Data("tcompile: error: \(message) (see tcompile --help)\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }

    /// `tcompile --version`: this tool's version, LLVM's, OpenBLAS's configuration and kernels, and
    /// the CPU and features code is generated for.
    static func versionText() -> String {
        let host = HostTarget.host()
        let blas = EagerThreads.blasConfiguration
        let features = host.features.split(separator: ",").filter { $0.hasPrefix("+") }.map { $0.dropFirst() }.sorted()
        return """
        tcompile \(TCompile.version)
        LLVM \(HostTarget.llvmVersion), target \(host.triple)
        \(blas.config.hasPrefix("OpenBLAS") ? blas.config : "OpenBLAS " + blas.config) (kernels: \(blas.core))
        CPU \(host.cpu): \(features.joined(separator: " "))
        """
    }
}

/// Options every subcommand that reads a model shares.
struct ModelOptions: ParsableArguments {
    @Argument(help: "The model: a model.json, either a traced graph (tcompile.graph/1) or a manifest naming a Hugging Face checkpoint (tcompile.model/2).")
    var model: String

    @Option(help: "Threads for the compiled and the eager kernels, 1–\(TCompile.maximumThreads) (default: the manifest's options.threads, else one per core); for a library, its default thread count.")
    var threads: Int?

    @Flag(help: "Print to stderr where the time went: loading (tracing a checkpoint's model included), each pass, IR emission, LLVM optimization, machine code, weight packing, writing or JIT linking.")
    var timeReport = false

    @Flag(help: "Compile (a library, or the JIT of run --compiled and bench) even when the compile cache (TCOMPILE_CACHE_DIR, else ~/.cache/tcompile) holds this graph's machine code, and do not store it there.")
    var noCache = false

    func validate() throws {
        if let threads, !(1...TCompile.maximumThreads).contains(threads) {
            throw ValidationError("--threads must be 1 to \(TCompile.maximumThreads), got \(threads)")
        }
    }

    /// Loads the model; the thread count flows one way from here: `--threads`, else the manifest's
    /// `options.threads`, else nil (one per core), into the eager threads and `CompileOptions`.
    func load() throws -> LoadedCommandModel {
        guard FileManager.default.fileExists(atPath: model) else { throw CLIError("\(model): no such file") }
        var times = CompileTimes()
        let loaded = try times.measure("loading (and tracing)") { try TCompile.loadModel(model) }
        let count = threads ?? loaded.threads
        if let count { EagerThreads.set(count) }
        var result = LoadedCommandModel(name: loaded.name, graph: loaded.graph, threads: count, cache: noCache ? nil : CompileCache.standard,
                                        times: times, timeReport: timeReport)
        result.manifestPrecision = loaded.precision
        result.precision = loaded.precision ?? .fp32
        return result
    }
}

/// `--precision`, shared by compile, run --compiled and bench.
struct PrecisionOption: ParsableArguments {
    @Option(help: "Arithmetic of the matrix products: fp32; bf16 (bf16 weights, half the bytes, and bf16 GEMM inputs with f32 accumulation; needs a CPU with avx512_bf16); or int8 (int8 weights per output channel, a quarter of the bytes, activations quantized per token, int32 sums with vpdpbusd; needs avx512_vnni). Softmax, layer norm, attention and residuals stay f32. Default: the manifest's options.precision, else fp32. The compile summary reports the accuracy it costs.")
    var precision: String?

    @Option(name: .customLong("keep-fp32"), help: ArgumentHelp("Keep the weights of the linear layers whose checkpoint name matches this shell glob in f32 at --precision bf16 or int8 (repeatable), e.g. '*.output.dense.weight' or 'encoder.layer.5.*'. A pattern that matches no weight is an error.", valueName: "pattern"))
    var keepFP32: [String] = []

    @Option(name: .customLong("calibrate"), help: ArgumentHelp("At --precision int8: static quantization. FILE is a safetensors file of one call's inputs by name (input_ids, attention_mask, …, within the compiled bounds; repeatable): each linear layer's input range over them becomes its one fixed scale, instead of each token's own (dynamic, the default). The accuracy report then runs on these inputs.", valueName: "file"))
    var calibrate: [String] = []

    func validate() throws {
        if let precision {
            do { _ = try Precision(parsing: precision) } catch let e as GraphError { throw ValidationError("--precision: \(e.message)") }
        }
    }

    /// The parsed value (validated already), nil when not given.
    var value: Precision? { precision.flatMap { try? Precision(parsing: $0) } }

    /// `--precision`, else the manifest's `options.precision`, else fp32.
    func resolved(_ loaded: LoadedCommandModel) -> Precision { value ?? loaded.manifestPrecision ?? .fp32 }

    /// Sets `loaded`'s precision (`resolved`) and the weights it keeps in f32.
    func apply(to loaded: inout LoadedCommandModel) throws {
        loaded.precision = resolved(loaded)
        loaded.keepFP32 = keepFP32
        if !calibrate.isEmpty {
            guard loaded.precision == .int8 else { throw CLIError("--calibrate applies to --precision int8 (this compile is at \(loaded.precision))") }
            loaded.calibration = try Calibration.samples(files: calibrate, for: loaded.graph)
            loaded.calibrationFiles = calibrate
        }
    }
}

/// A model the command line loaded, with the thread count it runs and compiles with.
struct LoadedCommandModel {
    var name: String
    var graph: Graph
    /// nil: one per online core.
    var threads: Int?
    /// Where the JIT keeps machine code; nil with `--no-cache`.
    var cache: CompileCache?
    /// The time of loading, then of each compile phase as it runs.
    var times: CompileTimes
    /// Whether `--time-report` asked for `times` on stderr.
    var timeReport: Bool
    /// The matrix products' arithmetic (`--precision`, else the manifest's).
    var precision: Precision = .fp32
    /// What the manifest's `options.precision` asks for.
    var manifestPrecision: Precision? = nil
    /// Globs of the weights kept in f32 (`--keep-fp32`).
    var keepFP32: [String] = []
    /// The inputs of `--calibrate` (static int8 quantization), checked against the graph, and their files.
    var calibration: [[String: Tensor]] = []
    var calibrationFiles: [String] = []

    /// `optimized` with its int8 layers calibrated on `calibration` (unchanged without it).
    mutating func calibrated(_ optimized: Graph) throws -> Graph {
        guard !calibration.isEmpty else { return optimized }
        let result = try times.measure("calibration") { try Calibration.apply(calibration, to: optimized) }
        print("calibrated \(result.layers) int8 layers on \(calibration.count) input set\(calibration.count == 1 ? "" : "s") (static quantization)")
        return result.graph
    }

    /// What the precision cost, on the calibration inputs when there are some, else on random samples.
    func accuracyReport(reference: Graph, compiled: CompiledModel) throws -> PrecisionReport {
        if !calibration.isEmpty {
            return try PrecisionReport.measure(reference: reference, compiled: compiled, precision: precision, on: calibration,
                                               source: "the calibration inputs")
        }
        return try PrecisionReport.measure(reference: reference, compiled: compiled, precision: precision, dims: PrecisionReport.sampleDims(reference))
    }

    /// Adds each pass's time of `result`.
    mutating func record(_ result: PassManager.Result) {
        for pass in result.statistics { times.add("pass \(pass.pass)", seconds: pass.milliseconds / 1000) }
    }

    /// Optimizes with the `-O<level>` pipeline and JIT-compiles, recording the time of each phase.
    mutating func compile(name: String, level: Int) throws -> CompiledModel {
        let optimized = try TCompile.optimize(graph, level: level, precision: precision, keepFP32: keepFP32)
        record(optimized)
        let compiled = try CompiledModel(graph: try calibrated(optimized.graph), name: name, options: compileOptions())
        times.append(compiled.compileTimes)
        return compiled
    }

    /// Prints `times` to stderr when `--time-report` was given.
    func reportTimes() {
        guard timeReport else { return }
        FileHandle.standardError.write(Data("time report:\n\(times.report)\n".utf8))
    }

    func compileOptions(target: HostTarget = .host()) -> CompileOptions {
        CompileOptions(target: target, threads: threads, cache: cache, precision: precision, keepFP32: keepFP32)
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
        FileHandle.standardError.write(Data("tcompile: error: \(oneLineMessage(error))\n".utf8))
        throw ExitCode.failure
    }
}

/// An error as one line: Foundation's errors by their localized description and the file they name
/// (their `description` is an `Error Domain=NSCocoaErrorDomain Code=… UserInfo={…}` dump), ours by
/// their description.
func oneLineMessage(_ error: Error) -> String {
    if let e = error as? CocoaError {
        let path = e.filePath ?? e.url?.path
        return (path.map { "\($0): " } ?? "") + e.localizedDescription
    }
    if let e = error as? POSIXError { return String(cString: strerror(e.code.rawValue)) }
    let bridged = error as NSError
    if bridged.domain == NSCocoaErrorDomain || bridged.domain == NSPOSIXErrorDomain { return bridged.localizedDescription }
    return "\(error)"
}

/// Creates `path` and its parents, with a one-line error (`cannot create directory X: Permission
/// denied`) instead of Foundation's NSError dump.
func createDirectory(_ path: String) throws {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        var isDirectory: ObjCBool = false
        let reason = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            ? "a file is in the way" : ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) } ?? error.localizedDescription
        throw CLIError("cannot create directory \(path): \(reason)")
    }
}

/// Milliseconds since `start`.
func milliseconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compile a model into a static library, C header, module map and weights.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var precision: PrecisionOption

    @Option(name: .shortAndLong, help: "Output directory.")
    var output: String = "out"

    @Option(help: "Library name (a C identifier); defaults to the model's name.")
    var name: String?

    @Option(help: "Extra artifacts, comma separated: obj, ll, asm, ir, dot.")
    var emit: String = ""

    @Option(name: .customShort("O", allowingJoined: true), help: "Optimization level: -O0 (no optimization: attention spelled as ops), -O1 (canonicalize, fold, CSE, DCE), -O2 (and every fusion).")
    var optimization: Int = 2

    @Option(help: "Print the IR after these passes (comma separated) or 'all'.")
    var dumpAfter: String?

    @Flag(help: "Embed the weights in the library instead of writing NAME.weights.")
    var embedWeights = false

    @Option(help: "The CPU to generate code for: native (this machine's, the default; another x86-64 gets status 7 from NAME_create where it lacks a feature), portable (baseline x86-64: runs on any), or multi (one copy per CPU level, at fp32 AVX-512, AVX2 and baseline, picked by CPUID on the first call: any x86-64 runs it at its best; at bf16 and int8 the one AVX-512 copy with the kernels' feature).")
    var cpu: CPUChoice?

    @Flag(help: .hidden)
    var portable = false   // the former spelling of --cpu portable

    @Flag(help: "Write a library that generates text (prefill and decode-step kernels, a KV cache per state, sampling, stop tokens, streaming; NAME_gen_* in docs/c-abi.md) from a text-generation checkpoint directory or a tcompile.model/2 manifest naming one (its dynamic_dims.seq.max bounds prompt + new tokens).")
    var generate = false

    @Option(help: "With --generate on a checkpoint directory: the bound on prompt + new tokens (default: the checkpoint's positions).")
    var maxSeq: Int?

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    /// The extra artifacts `--emit` names (validated in `validate`).
    var emitKinds: EmitKinds {
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
        return kinds
    }

    func validate() throws {
        guard (0...2).contains(optimization) else { throw ValidationError("-O takes 0, 1 or 2") }
        if portable, let cpu, cpu != .portable { throw ValidationError("--portable and --cpu \(cpu.rawValue) contradict each other") }
        if let name, !CIdentifier.isValid(name) {
            throw ValidationError("--name: '\(name)' is not a C identifier (ASCII letters, digits and _, not starting with a digit)")
        }
        if let dumpAfter { do { _ = try DumpSelection(argument: dumpAfter) } catch { throw ValidationError("\(error)") } }
        for kind in emit.split(separator: ",") where !["obj", "ll", "asm", "ir", "dot"].contains(kind) {
            throw ValidationError("--emit: unknown kind '\(kind)' (obj, ll, asm, ir, dot)")
        }
    }

    func run() throws {
        try reportingErrors {
            func print(_ line: String) { if !quiet { Swift.print(line) } }
            let start = DispatchTime.now()
            var checkTimes = CompileTimes()
            let upToDate = checkTimes.measure("up-to-date check") { self.upToDate() }
            if let upToDate {
                let outcome = checkTimes.measure("up-to-date check") { upToDate.check(outputDirectory: URL(fileURLWithPath: output).standardizedFileURL.path) }
                switch outcome {
                case .upToDate(let record): return reportReused(record, restored: false, start: start, times: checkTimes, print: print)
                case .restored(let record): return reportReused(record, restored: true, start: start, times: checkTimes, print: print)
                case .compile: break
                }
            }
            if generate { return try writeGenerator(start: start, upToDate: upToDate, print: print) }
            if FileManager.default.fileExists(atPath: options.model), let seq2seq = try Seq2SeqLibrary.load(manifest: options.model) {
                return try writeSeq2Seq(seq2seq, start: start, upToDate: upToDate, print: print)
            }
            var loaded = try options.load()
            try precision.apply(to: &loaded)
            let (modelName, graph) = (loaded.name, loaded.graph)
            let libraryName = name ?? CIdentifier.make(from: modelName)
            let outputDirectory = URL(fileURLWithPath: output).standardizedFileURL.path
            let kinds = emitKinds
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
            var compileOptions = targeting(loaded.compileOptions())
            compileOptions.weightsSource = upToDate?.inputsIdentity
            // Refused before any work: a precision this target cannot run (never a silent f32 fallback).
            try compileOptions.checkPrecision()
            let optimized = try TCompile.optimize(graph, level: optimization, precision: loaded.precision, keepFP32: loaded.keepFP32,
                                                  dumpAfter: try dumpAfter.map(DumpSelection.init(argument:)) ?? .none,
                                                  dumpSink: { Swift.print($0, terminator: "") })
            print(optimized.summary)
            loaded.record(optimized)
            let bounds = Dictionary(graph.symbols.map { ($0.name, $0.max) }, uniquingKeysWith: { a, _ in a })
            let flops = optimized.graph.matmulFLOPs(at: bounds)
            print(String(format: "matrix products per call at the bounds (%@): %.3f GFLOP", graph.symbols.map { "\($0.name)=\($0.max)" }.joined(separator: ", "), flops / 1e9))
            print("generating code for \(Self.describe(compileOptions)) (LLVM -O\(compileOptions.optimizationLevel), precision \(loaded.precision))…")
            try createDirectory(outputDirectory)
            let final = try loaded.calibrated(optimized.graph)
            let result = try AOTCompiler.write(final, name: libraryName, to: outputDirectory,
                                               options: compileOptions,
                                               embedWeights: embedWeights, emit: kinds)
            print("target \(Self.describe(compileOptions)), workspace \(result.signature.workspaceBytes) bytes, weights \(result.weightsBytes) bytes")
            for file in result.files { print("  wrote \(file)") }
            loaded.times.append(result.times)
            var notes: [String] = []
            if loaded.precision != .fp32 {
                // What the precision cost: the same optimized graph JIT-compiled at this precision (the
                // library's kernels) against the f32 graph, on sample inputs.
                let current = loaded
                let report = try loaded.times.measure("accuracy report") { () throws -> PrecisionReport in
                    let model = try CompiledModel(graph: final, name: libraryName, options: current.compileOptions())
                    return try current.accuracyReport(reference: graph, compiled: model)
                }
                print(report.summary)
                notes.append(report.summary)
            }
            upToDate?.store(outputs: result.files, notes: notes, weightsKey: result.weightsKey)
            print(String(format: "compiled in %.2f s", milliseconds(since: start) / 1000))
            loaded.reportTimes()
        }
    }
}

extension Compile {
    /// `--generate`: traces the manifest's causal language model into prefill and decode-step graphs
    /// and writes the generating library (`GeneratorLibrary`).
    func writeGenerator(start: DispatchTime, upToDate: UpToDate?, print: (String) -> Void) throws {
        guard dumpAfter == nil else { throw CLIError("--dump-after is not available with --generate") }
        var isCheckpoint: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.model, isDirectory: &isCheckpoint) else { throw CLIError("\(options.model): no such file") }
        if !isCheckpoint.boolValue, maxSeq != nil {
            throw CLIError("--max-seq: a manifest states its bound in dynamic_dims.seq.max; --max-seq is for a checkpoint directory")
        }
        var times = CompileTimes()
        let source = try times.measure("loading") {
            isCheckpoint.boolValue ? try GeneratorLibrary.load(checkpoint: URL(fileURLWithPath: options.model), maxLength: maxSeq)
                : try GeneratorLibrary.load(manifest: options.model)
        }
        let threads = options.threads ?? source.threads
        let libraryName = name ?? CIdentifier.make(from: source.name)
        let outputDirectory = URL(fileURLWithPath: output).standardizedFileURL.path
        let kinds = emitKinds
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: outputDirectory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CLIError("-o \(output): is a file, not a directory")
        }
        var inputs = InputFiles.model(options.model)
        if isCheckpoint.boolValue { inputs.add(directory: options.model) }
        try inputs.check(outputs: AOTCompiler.outputFiles(
            name: libraryName, directory: outputDirectory, embedWeights: embedWeights, emit: kinds))
        if !precision.calibrate.isEmpty {
            throw CLIError("--calibrate applies to a model's forward graph, not to a generating library (its decode step is weight-only int8)")
        }
        print("compiling \(source.name) for generation: prompt + new tokens ≤ \(source.maxLength), one sequence per state")
        var compileOptions = targeting(CompileOptions(threads: threads, cache: options.noCache ? nil : CompileCache.standard,
                                                      precision: precision.value ?? source.precision ?? .fp32,
                                                      keepFP32: precision.keepFP32))
        compileOptions.weightsSource = upToDate?.inputsIdentity
        try compileOptions.checkPrecision()
        try createDirectory(outputDirectory)
        let result = try GeneratorLibrary.write(model: source.model, name: libraryName, maxLength: source.maxLength, to: outputDirectory,
                                                level: optimization, options: compileOptions, embedWeights: embedWeights, emit: kinds)
        print("target \(Self.describe(compileOptions)), workspace \(result.signatures.map(\.workspaceBytes).max() ?? 0) bytes, weights \(result.weightsBytes) bytes")
        for file in result.files { print("  wrote \(file)") }
        times.append(result.times)
        upToDate?.store(outputs: result.files, weightsKey: result.weightsKey)
        print(String(format: "compiled in %.2f s", milliseconds(since: start) / 1000))
        if options.timeReport { FileHandle.standardError.write(Data("time report:\n\(times.report)\n".utf8)) }
    }
}

/// `tcompile --cpu`: which CPUs a library's code is generated for.
enum CPUChoice: String, ExpressibleByArgument, CaseIterable {
    case native, portable, multi
}

extension Compile {
    /// `options` generating code for the `--cpu` choice (`--portable` is its former spelling).
    func targeting(_ options: CompileOptions) -> CompileOptions {
        var options = options
        switch cpu ?? (portable ? .portable : .native) {
        case .native: options.target = .host()
        case .portable: options.target = .portable()
        case .multi:
            options.variants = HostTarget.multi(precision: options.precision)
            options.target = options.variants[0]
        }
        return options
    }

    /// The CPUs `options` generate code for, for the summary.
    static func describe(_ options: CompileOptions) -> String {
        options.variants.count > 1 ? "\(options.variants.map(\.cpu).joined(separator: ", ")) (--cpu multi)" : options.target.cpu
    }

    /// A text2text-generation manifest: traces the encoder and the decoder step and writes the seq2seq
    /// library (`Seq2SeqLibrary`: `NAME_encode_run`, `NAME_decode_step_run`, one weights file).
    func writeSeq2Seq(_ source: Seq2SeqLibrary.Source, start: DispatchTime, upToDate: UpToDate?, print: (String) -> Void) throws {
        guard dumpAfter == nil else { throw CLIError("--dump-after is not available for an encoder-decoder (two graphs)") }
        guard maxSeq == nil else { throw CLIError("--max-seq: a manifest states its bound in dynamic_dims.seq.max") }
        let libraryName = name ?? CIdentifier.make(from: source.name)
        let outputDirectory = URL(fileURLWithPath: output).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: outputDirectory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CLIError("-o \(output): is a file, not a directory")
        }
        try InputFiles.model(options.model).check(outputs: AOTCompiler.outputFiles(
            name: libraryName, directory: outputDirectory, embedWeights: embedWeights, emit: emitKinds))
        print("compiling \(source.name) (encoder-decoder): entries encode and decode_step, decoder rows ≤ \(source.maxBatch), source and target ≤ \(source.maxSeq) tokens")
        var compileOptions = targeting(CompileOptions(threads: options.threads ?? source.threads, cache: options.noCache ? nil : CompileCache.standard))
        compileOptions.weightsSource = upToDate?.inputsIdentity
        try createDirectory(outputDirectory)
        let result = try Seq2SeqLibrary.write(model: source.model, name: libraryName, maxBatch: source.maxBatch, maxSource: source.maxSeq,
                                              maxTarget: source.maxSeq, to: outputDirectory, level: optimization,
                                              options: compileOptions, embedWeights: embedWeights, emit: emitKinds)
        print("target \(Self.describe(compileOptions)), workspace \(result.signatures.map(\.workspaceBytes).max() ?? 0) bytes, weights \(result.weightsBytes) bytes")
        for file in result.files { print("  wrote \(file)") }
        upToDate?.store(outputs: result.files, weightsKey: result.weightsKey)
        print(String(format: "compiled in %.2f s", milliseconds(since: start) / 1000))
        if options.timeReport { FileHandle.standardError.write(Data("time report:\n\(result.times.report)\n".utf8)) }
    }
}

extension Compile {
    /// The check that skips this compile when its output directory holds what it would write, or
    /// restores it there from the compile cache (`UpToDate`): keyed by the model's files (and
    /// `--calibrate`'s), by absolute path and identity, the arguments but `-o`, `-q` and `--time-report`,
    /// and the `TCOMPILE_*` and `OPENBLAS_*` environment. nil with `--no-cache` (which compiles anyway),
    /// `--dump-after` (whose dumps are the point) or no cache folder.
    func upToDate() -> UpToDate? {
        guard !options.noCache, dumpAfter == nil else { return nil }
        let neutral: Set = ["-q", "--quiet", "--time-report"]
        var settings: [String] = [], skipNext = false
        for argument in CommandLine.arguments.dropFirst() {
            if skipNext { skipNext = false; continue }
            if argument == "-o" || argument == "--output" { skipNext = true; continue }
            if neutral.contains(argument) || argument.hasPrefix("--output=") || (argument.hasPrefix("-o") && argument.count > 2) { continue }
            settings.append("argument " + argument)
        }
        settings += ProcessInfo.processInfo.environment.filter { $0.key.hasPrefix("TCOMPILE_") || $0.key.hasPrefix("OPENBLAS_") }
            .sorted { $0.key < $1.key }.map { "environment \($0.key)=\($0.value)" }
        return UpToDate(cache: CompileCache.standard, settings: settings, inputs: InputFiles.model(options.model).paths + precision.calibrate,
                        excluding: [URL(fileURLWithPath: output).standardizedFileURL.path])
    }

    /// Says that nothing was compiled, lists the files kept (or `restored`: written from the cache) and
    /// repeats the earlier compile's accuracy report.
    func reportReused(_ record: UpToDate.Record, restored: Bool, start: DispatchTime, times: CompileTimes, print: (String) -> Void) {
        let date = ISO8601DateFormatter().string(from: record.date)
        print(restored ? "restored from the compile cache: the same model files, options and tcompile compiled this library at \(date); nothing was compiled (--no-cache compiles anyway)"
                       : "up to date: the same model files, options and tcompile wrote these files at \(date) and they are untouched; nothing was compiled (--no-cache compiles anyway)")
        for file in record.outputs { print((restored ? "  wrote " : "  kept ") + file) }
        for note in record.notes { print(note) }
        print(String(format: "done in %.3f s", milliseconds(since: start) / 1000))
        if options.timeReport { FileHandle.standardError.write(Data("time report:\n\(times.report)\n".utf8)) }
    }
}

/// Reads named input tensors from a safetensors file, tokenizes `--text` (or `--question` with
/// `--context`), or makes sample ones for `--dims`.
struct InputOptions: ParsableArguments {
    @Option(help: "Inputs by name (input_ids, attention_mask, …) in a safetensors file.")
    var inputs: String?

    @Option(help: "Text to tokenize as the inputs (repeat for a batch; '-' reads one text per line from stdin); needs --tokenizer.")
    var text: [String] = []

    @Option(help: "A file of texts to tokenize as the inputs, one per non-empty line (a batch); needs --tokenizer.")
    var textFile: String?

    @Option(help: "A second text for each --text (sentence pairs; a cross-encoder's query and passage), in order.")
    var textPair: [String] = []

    @Option(help: "A question for a question-answering model (repeat for several); needs --context and --tokenizer.")
    var question: [String] = []

    @Option(help: "The context the answers are taken from (one for all questions, or one per question).")
    var context: [String] = []

    @Option(help: "A checkpoint directory with tokenizer.json (or vocab files) for --text, and config.json for labels and the task.")
    var tokenizer: String?

    @Option(help: "Dim values for sample inputs when no --inputs are given, e.g. batch=1,seq=16.")
    var dims: String?

    /// Inputs, and for text inputs what they came from (so outputs can be decoded for the task).
    struct Prepared {
        var tensors: [String: Tensor]
        var texts: [String] = []
        var contexts: [String] = []
        var encodings: [Encoding] = []
        var tokenizer: Tokenizer?
    }

    func validate() throws {
        if !question.isEmpty, context.isEmpty { throw ValidationError("--question needs --context") }
        if !context.isEmpty, question.isEmpty { throw ValidationError("--context needs --question") }
        if context.count > 1, context.count != question.count {
            throw ValidationError("--context: give one context for all questions or one per question (\(question.count) questions, \(context.count) contexts)")
        }
        if !question.isEmpty, !text.isEmpty || textFile != nil { throw ValidationError("give --text or --question with --context, not both") }
        // One source of inputs: a file of tensors excludes texts and sample dims (one used to win silently).
        if inputs != nil, !text.isEmpty || textFile != nil || !question.isEmpty || dims != nil {
            throw ValidationError("--inputs gives every input; it cannot be combined with --text, --text-file, --question or --dims")
        }
        if !textPair.isEmpty, !text.contains("-"), textFile == nil, textPair.count != text.count {
            throw ValidationError("--text-pair: give one per --text (\(text.count) texts, \(textPair.count) pairs)")
        }
    }

    /// The texts of `--text` (with `-` replaced by stdin's lines) and `--text-file`.
    func texts() throws -> [String] {
        func lines(_ bytes: [UInt8], _ source: String) throws -> [String] {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw CLIError("\(source): not valid UTF-8") }
            return text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        var out: [String] = []
        for t in text {
            if t == "-" {
                let read = try lines(Array(FileHandle.standardInput.readDataToEndOfFile()), "--text - (stdin)")
                if read.isEmpty { throw CLIError("--text - (stdin): no text (every line is empty)") }
                out += read
            } else { out.append(t) }
        }
        if let textFile {
            let read: [String]
            do { read = try lines(try RegularFile.read(textFile), textFile) } catch let e as RegularFile.Failure {
                throw CLIError("--text-file \(textFile): \(e.reason)")
            }
            if read.isEmpty { throw CLIError("--text-file \(textFile): no text (every line is empty)") }
            out += read
        }
        return out
    }

    func make(for graph: Graph) throws -> Prepared {
        if let inputs {
            let tensors = try SafeTensorsFile(path: inputs).tensors()
            // A tensor the model has no input for would be ignored: say so rather than run without it.
            let names = graph.inputNodes.compactMap { if case .input(let n) = $0.op { n } else { nil } }
            if let extra = tensors.keys.sorted().first(where: { !names.contains($0) }) {
                throw CLIError("--inputs \(inputs): tensor '\(extra)' is not an input of the model (its inputs: \(names.joined(separator: ", ")))")
            }
            return Prepared(tensors: tensors)
        }
        let text = try texts()
        if !textPair.isEmpty, textPair.count != text.count {
            throw CLIError("--text-pair: give one per text (\(text.count) texts, \(textPair.count) pairs)")
        }
        if !text.isEmpty || !question.isEmpty {
            guard let tokenizer else { throw CLIError("--text and --question need --tokenizer DIR (a checkpoint directory with tokenizer files)") }
            var t = try Tokenizer.fromDirectory(tokenizer)
            t.padding = nil
            // Longer texts are cut to the model's sequence bound, as the tokenizer's truncation would
            // (the context, not the question, loses tokens), with a warning.
            let bound = graph.symbols.first { $0.name == "seq" }?.max
            let contexts = question.indices.map { context.count == 1 ? context[0] : context[$0] }
            func encodeAll(_ t: Tokenizer) throws -> [Encoding] {
                if !question.isEmpty { return try t.encodeBatch(pairs: Array(zip(question, contexts))) }
                return textPair.isEmpty ? try t.encodeBatch(text) : try t.encodeBatch(pairs: Array(zip(text, textPair)))
            }
            var encodings = try encodeAll(t)
            if let bound, encodings.contains(where: { $0.count > bound }) {
                for (i, e) in encodings.enumerated() where e.count > bound {
                    FileHandle.standardError.write(Data("tcompile: warning: input \(i + 1) has \(e.count) tokens; truncated to the model's seq bound \(bound)\n".utf8))
                }
                t.truncation = Truncation(maxLength: bound, strategy: question.isEmpty ? .longestFirst : .onlySecond)
                encodings = try encodeAll(t)
            }
            // Pad on the right to the longest row.
            let length = encodings.map(\.count).max() ?? 0
            var out: [String: Tensor] = [:]
            let pad = t.padding?.padId ?? t.id(for: "[PAD]") ?? t.id(for: "<pad>") ?? 0
            for node in graph.inputNodes {
                guard case .input(let name) = node.op else { continue }
                let values: [Int]
                switch name {
                case "input_ids": values = encodings.flatMap { $0.ids + Array(repeating: pad, count: length - $0.count) }
                case "attention_mask": values = encodings.flatMap { Array(repeating: 1, count: $0.count) + Array(repeating: 0, count: length - $0.count) }
                case "token_type_ids": values = encodings.flatMap { $0.typeIds + Array(repeating: 0, count: length - $0.count) }
                default: throw CLIError("--text cannot fill input '\(name)'; give --inputs")
                }
                out[name] = Tensor(values, shape: [encodings.count, length], dtype: node.type.dtype == .int32 ? .int32 : .int64)
            }
            let shown = question.isEmpty ? (textPair.isEmpty ? text : zip(text, textPair).map { "\($0) | \($1)" }) : question
            return Prepared(tensors: out, texts: shown, contexts: contexts, encodings: encodings, tokenizer: t)
        }
        var values: [String: Int] = [:]
        for pair in (dims ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let v = Int(parts[1]) else { throw CLIError("--dims: expected name=value, got '\(pair)'") }
            guard values[String(parts[0])] == nil else { throw CLIError("--dims: dim '\(parts[0])' is given twice") }
            values[String(parts[0])] = v
        }
        for s in graph.symbols where values[s.name] == nil { values[s.name] = max(s.min, min(s.max, 8)) }
        do { return Prepared(tensors: try TCompile.sampleInputs(for: graph, dims: values)) } catch let e as GraphError {
            throw CLIError("--dims: \(e.message)")
        }
    }

    /// The label fields of the tokenizer directory's config.json (`id2label`, `problem_type`), as its
    /// family's config decodes them, or nil.
    func labelConfig() -> CommonConfig? {
        guard let tokenizer else { return nil }
        let directory = URL(fileURLWithPath: tokenizer)
        guard let kind = try? ModelRegistry.kind(ofCheckpoint: directory),
              let config = try? kind.family.configType.load(from: directory.appendingPathComponent("config.json")) else { return nil }
        return (config as? any EncoderConfig)?.common
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a model eagerly (the interpreter) or compiled, and print or save its outputs.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var inputOptions: InputOptions
    @OptionGroup var precision: PrecisionOption

    @Flag(help: "How to run it.")
    var mode: Mode = .compiled

    enum Mode: String, EnumerableFlag { case eager, compiled }

    @Option(name: .customShort("O", allowingJoined: true), help: "Optimization level for --compiled, 0–2.")
    var level: Int = 2

    @Option(name: .shortAndLong, help: "Save every output to this safetensors file.")
    var output: String?

    @Option(help: "Candidates shown per mask (fill-mask, default 5) or labels per text (classification, default 1).")
    var topK: Int?

    @Flag(help: "Print the results (or, without text inputs, each output's shape and first values) as JSON.")
    var json = false

    /// -O is checked whatever the mode (`run --eager -O3` used to pass, the level unused), as in
    /// every subcommand; `--top-k 0` printed no label at all.
    func validate() throws {
        guard (0...2).contains(level) else { throw ValidationError("-O takes 0, 1 or 2") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, got \(topK)") }
        if mode == .eager, let value = precision.value, value != .fp32 {
            throw ValidationError("--precision \(value) applies to --compiled; --eager runs the f32 interpreter")
        }
        if mode == .eager && !precision.keepFP32.isEmpty {
            throw ValidationError("--keep-fp32 applies to --compiled; --eager runs the f32 interpreter")
        }
    }

    func run() throws {
        try reportingErrors {
            if let output {
                var read = InputFiles.model(options.model)
                if let inputs = inputOptions.inputs { read.add(inputs) }
                if let tokenizer = inputOptions.tokenizer { read.add(directory: tokenizer) }
                try read.check(outputs: [output])
            }
            var loaded = try options.load()
            try precision.apply(to: &loaded)
            let (name, graph) = (loaded.name, loaded.graph)
            let prepared = try inputOptions.make(for: graph)
            let inputs = prepared.tensors
            let start = DispatchTime.now()
            let outputs = mode == .eager ? try Interpreter(graph: graph).run(inputs) : try loaded.compile(name: "run", level: level)(inputs)
            let elapsed = milliseconds(since: start)
            loaded.reportTimes()
            let task = TaskOutput.task(of: graph, checkpoint: inputOptions.tokenizer)
            var results: [TaskOutput.Result] = []
            if let task, let tokenizer = prepared.tokenizer {
                results = TaskOutput.results(task: task, outputs: outputs, texts: prepared.texts, contexts: prepared.contexts,
                                             encodings: prepared.encodings, tokenizer: tokenizer, labels: inputOptions.labelConfig(), topK: topK ?? (task == .fillMask ? 5 : 1))
            }
            if json {
                let document = JSONOutput(model: name, mode: mode.rawValue, task: task?.rawValue, milliseconds: elapsed,
                                          results: results.isEmpty ? nil : results,
                                          outputs: results.isEmpty ? Dictionary(graph.outputs.compactMap { o in
                                              outputs[o.name].map { (o.name, JSONOutput.TensorSummary($0)) } }, uniquingKeysWith: { a, _ in a }) : nil)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(document), as: UTF8.self))
            } else {
                print("\(name) (\(mode.rawValue)\(task.map { ", " + $0.rawValue } ?? ""), \(String(format: "%.1f", elapsed)) ms including \(mode == .compiled ? "compilation" : "setup"))")
                if results.isEmpty {
                    for o in graph.outputs {
                        guard let t = outputs[o.name] else { continue }
                        let values = t.toFloatArray()
                        let preview = values.prefix(6).map { String(format: "%.5g", $0) }.joined(separator: ", ")
                        print("  \(o.name): \(t.dtype) \(t.shape) [\(preview)\(values.count > 6 ? ", …" : "")]")
                    }
                } else {
                    for r in results { print(TaskOutput.describe(r).split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")) }
                }
            }
            if let output {
                try SafeTensors.write(outputs, metadata: ["producer": "tcompile run", "mode": mode.rawValue], to: output)
                if !json { print("  saved \(output)") }
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

    func validate() throws {
        if let level, !(0...2).contains(level) { throw ValidationError("-O takes 0, 1 or 2") }
    }

    func run() throws {
        try reportingErrors {
            let loaded = try options.load()
            let (name, graph) = (loaded.name, loaded.graph)
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
    @OptionGroup var precision: PrecisionOption

    @Option(help: "Timed repetitions of each.")
    var repetitions: Int = 10

    /// `--repetitions 0` or a negative count used to become 1 without a word.
    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
    }

    func run() throws {
        try reportingErrors {
            var loaded = try options.load()
            try precision.apply(to: &loaded)
            let (name, graph) = (loaded.name, loaded.graph)
            let inputs = try inputOptions.make(for: graph).tensors
            let compileStart = DispatchTime.now()
            let compiled = try loaded.compile(name: "bench", level: 2)
            let compileMs = milliseconds(since: compileStart)
            loaded.reportTimes()
            let interpreter = Interpreter(graph: graph)
            func median(_ body: () throws -> Void) rethrows -> Double {
                try body()
                var times: [Double] = []
                for _ in 0..<repetitions {
                    let start = DispatchTime.now()
                    try body()
                    times.append(milliseconds(since: start))
                }
                return times.sorted()[times.count / 2]
            }
            let bindings = try interpreter.bindings(for: inputs)
            let dims = graph.symbols.map { "\($0.name)=\(bindings[$0.name].map(String.init) ?? "?")" }.joined(separator: ", ")
            let threads = loaded.threads.map { "\($0) threads" } ?? "one thread per core (\(ProcessInfo.processInfo.activeProcessorCount))"
            print("\(name): dims \(dims.isEmpty ? "(static)" : dims), \(threads) for the eager and compiled kernels, compiled at \(loaded.precision), median of \(repetitions) runs")
            let eager = try median { _ = try interpreter.run(inputs) }
            let native = try median { _ = try compiled(inputs) }
            print(String(format: "%@: eager %.3f ms, compiled %.3f ms, speed-up %.2fx (compile %.0f ms)", name, eager, native, eager / native, compileMs))
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trace a Hugging Face checkpoint directory into a model.json (tcompile.graph/1).",
        discussion: "Families and their tasks (`tcompile families` lists inputs and outputs):\n"
            + ModelRegistry.families.map { "  \($0.modelType): \($0.taskNames)" }.joined(separator: "\n"))

    @Argument(help: "A checkpoint directory: config.json, model.safetensors, tokenizer files.")
    var checkpoint: String

    @Option(help: "The Hugging Face task (\(ModelRegistry.tasks.map(\.rawValue).joined(separator: ", "))); default: the one config.json's architectures select.")
    var task: String?

    @Option(help: "Largest batch the compiled model will accept.")
    var maxBatch: Int = 8

    @Option(help: "Longest sequence the compiled model will accept (at most the checkpoint's positions).")
    var maxSeq: Int = 512

    @Option(name: .shortAndLong, help: "Where to write model.json (its weights go beside it).")
    var output: String = "model.json"

    @Option(help: "The model's name (a C identifier; the library becomes libNAME.a); defaults to the directory's name (for a Hugging Face cache snapshot, the repository's).")
    var name: String?

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Print to stderr where the time went: loading the checkpoint, tracing, writing.")
    var timeReport = false

    func validate() throws {
        if let task, EagerManifest.task(named: task) == nil {
            throw ValidationError("--task: unknown task '\(task)' (\((ModelRegistry.tasks.map(\.rawValue) + EagerManifest.aliases.keys.sorted()).joined(separator: ", ")))")
        }
        if let name, !CIdentifier.isValid(name) {
            throw ValidationError("--name: '\(name)' is not a C identifier (ASCII letters, digits and _, not starting with a digit)")
        }
    }

    func run() throws {
        try reportingErrors {
            func print(_ line: String) { if !quiet { Swift.print(line) } }
            let start = DispatchTime.now()
            let directory = URL(fileURLWithPath: checkpoint)
            // model.json and its weights file must not replace any file of the checkpoint.
            let outputURL = URL(fileURLWithPath: output).standardizedFileURL
            var isDirectory: ObjCBool = false
            if output.hasSuffix("/") || (FileManager.default.fileExists(atPath: outputURL.path, isDirectory: &isDirectory) && isDirectory.boolValue) {
                throw CLIError("-o \(output): is a directory; give the model.json file to write (e.g. -o \(output)/model.json)")
            }
            var read = InputFiles()
            read.add(directory: directory.path)
            try read.check(outputs: [outputURL.path, GraphFile.weightsPath(for: outputURL.path)])
            if let manifest = try EagerManifest.manifest(directory: directory, task: task.flatMap(EagerManifest.task(named:)), maxBatch: maxBatch,
                                                         maxSeq: maxSeq, name: name, output: outputURL) {
                try createDirectory(outputURL.deletingLastPathComponent().path)
                try writeFileAtomically(Data(manifest.utf8), to: outputURL.path)
                print("wrote \(outputURL.path): a manifest (tcompile.model/2) of this encoder-decoder: `tcompile generate` runs it (compiled by default), `tcompile \(outputURL.lastPathComponent) -o DIR` writes its library (NAME_encode, NAME_decode_step), `tcompile run` its teacher-forced forward")
                return
            }
            var times = CompileTimes()
            let model = try times.measure("loading the checkpoint") {
                try ModelExport.load(directory: directory, task: task.flatMap(EagerManifest.task(named:)), tracing: true)
            }
            let graph = try times.measure("tracing") { try model.trace(maxBatch: maxBatch, maxSeq: maxSeq) }
            if task == nil { print("task: \(model.task.rawValue) (picked from config.json's architectures; --task chooses another)") }
            let name = self.name ?? ModelExport.defaultName(for: directory)
            try createDirectory(outputURL.deletingLastPathComponent().path)
            try times.measure("writing") { try GraphFile.save(graph, name: name, to: outputURL.path) }
            if timeReport { FileHandle.standardError.write(Data("time report:\n\(times.report)\n".utf8)) }
            print("traced \(name) (\(model.task.rawValue)): \(graph.computeNodeCount) ops, inputs \(model.inputNames.joined(separator: ", ")), outputs \(graph.outputs.map(\.name).joined(separator: ", "))")
            print("wrote \(outputURL.path) in \(String(format: "%.2f", milliseconds(since: start) / 1000)) s")
        }
    }
}

struct Families: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the model families tcompile export loads, with their tasks, inputs and outputs.")

    @Flag(help: "Print the JSON Schema of the tcompile.model/2 manifest instead (made from the same registry).")
    var schema = false

    func run() throws {
        if schema { print(ModelManifest.jsonSchema, terminator: ""); return }
        for family in ModelRegistry.families {
            print("\(family.modelType) (\(family.tokenizer.rawValue) tokenizer; inputs \(family.inputs.map(\.name).joined(separator: ", ")), each [batch, seq])")
            for entry in family.tasks {
                let classes = entry.architectures.joined(separator: ", ")
                print("  \(entry.task.rawValue.padding(toLength: 26, withPad: " ", startingAt: 0)) → \(entry.outputs.joined(separator: ", "))   (\(classes))")
            }
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
