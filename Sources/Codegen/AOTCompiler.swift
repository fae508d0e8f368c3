import CLLVM
import Foundation
import Graph
import Tensors

/// Which artifacts `AOTCompiler.write` produces besides the library, header and module map.
public struct EmitKinds: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// `NAME.o`, the relocatable object.
    public static let object = EmitKinds(rawValue: 1)
    /// `NAME.ll`, the optimized LLVM IR.
    public static let llvmIR = EmitKinds(rawValue: 2)
    /// `NAME.s`, the assembly.
    public static let assembly = EmitKinds(rawValue: 4)
    /// `NAME.ir`, the graph in IR text form.
    public static let graph = EmitKinds(rawValue: 8)
    /// `NAME.dot`, the graph for Graphviz.
    public static let dot = EmitKinds(rawValue: 16)
}

/// One graph of an AOT library: its entry points are `NAME_<name>_run`, `NAME_<name>_workspace_size`
/// and `NAME_<name>_output_elements` (for a library of one graph with an empty name: `NAME_run` …).
public struct AOTEntry: Sendable {
    /// The entry's name (a C identifier), or "" for the one graph of a single-graph library.
    public var name: String
    public var graph: Graph
    public init(name: String, graph: Graph) {
        self.name = name
        self.graph = graph
    }
}

/// Which entries of a library are a causal language model's prefill and decode step, so the library
/// also gets the generation state API (`GenerationAPI`, `NAME_gen_*`).
public struct AOTGeneration: Sendable {
    public var prefill: String
    public var decode: String
    /// The stop tokens a new generation state starts with (the checkpoint's EOS ids).
    public var eosTokenIds: [Int]
    public init(prefill: String = "prefill", decode: String = "decode_step", eosTokenIds: [Int] = []) {
        self.prefill = prefill
        self.decode = decode
        self.eosTokenIds = eosTokenIds
    }
}

/// Ahead-of-time compilation: a static library, C header, module map and weights that an app links.
public enum AOTCompiler {
    /// The files written, by kind.
    public struct Output: Sendable {
        public var files: [String]
        /// The first entry's kernel signature (the only one of a single-graph library).
        public var signature: RunSignature
        /// Every entry's kernel signature, in entry order.
        public var signatures: [RunSignature]
        public var weightsBytes: Int
        /// Where the compilation's time went: IR emission, weight packing, LLVM optimization, machine code, writing.
        public var times: CompileTimes
        /// The compile cache's key of the weights file it keeps for this library (`CachedWeights`), if it keeps one.
        public var weightsKey: String? = nil
    }

    /// The paths `write` produces for these settings, in the order it writes them; callers check them
    /// before compiling (tcompile refuses to write over its inputs).
    public static func outputFiles(name: String, directory: String, embedWeights: Bool = false, emit: EmitKinds = []) -> [String] {
        var files = ["lib\(name).a", "\(name).h", "module.modulemap"]
        if !embedWeights { files.append("\(name).weights") }
        let extras: [(EmitKinds, String)] = [(.object, "o"), (.llvmIR, "ll"), (.assembly, "s"), (.graph, "ir"), (.dot, "dot")]
        for (kind, suffix) in extras where emit.contains(kind) { files.append("\(name).\(suffix)") }
        // The object is the library's two members: the code and its data (the weights header, embedded weights).
        if emit.contains(.object) { files.append("\(name)_data.o") }
        return files.map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Compiles `graph` into `directory` as `libNAME.a`, `NAME.h`, `module.modulemap` and
    /// `NAME.weights` (or weights embedded in the library). The whole set is written into a hidden sibling
    /// directory first and switched in at once when every file is whole (`writeDirectoryAtomically`:
    /// a rename, or an exchange with a directory holding only this model's artifacts; else the files
    /// are renamed into place one by one), so a failure leaves the previous set untouched; the same
    /// input gives byte-identical files.
    public static func write(_ graph: Graph, name: String, to directory: String, options: CompileOptions = CompileOptions(),
                             embedWeights: Bool = false, emit: EmitKinds = []) throws -> Output {
        try write(entries: [AOTEntry(name: "", graph: graph)], name: name, to: directory, options: options,
                  embedWeights: embedWeights, emit: emit)
    }

    /// Compiles several graphs into one library (`write` for one): a kernel and entry points per graph,
    /// one thread pool, and one weights file in which a constant several graphs read (same name,
    /// layout and bytes) is stored once. With `generation`, the library also holds the generation
    /// state API driving the named prefill and decode entries (docs/c-abi.md).
    public static func write(entries: [AOTEntry], name: String, to directory: String, options: CompileOptions = CompileOptions(),
                             embedWeights: Bool = false, emit: EmitKinds = [], generation: AOTGeneration? = nil) throws -> Output {
        guard CIdentifier.isValid(name) else {
            throw CodegenError("model name '\(name)' is not a C identifier (ASCII letters, digits and _, not starting with a digit)")
        }
        guard !entries.isEmpty else { throw CodegenError("a library needs at least one graph") }
        let single = entries.count == 1 && entries[0].name.isEmpty
        if !single {
            var seen = Set<String>()
            for e in entries {
                guard CIdentifier.isValid(e.name), seen.insert(e.name).inserted else {
                    throw CodegenError("entry name '\(e.name)' must be a C identifier, distinct from the library's other entries")
                }
            }
        }
        _ = try CompileOptions.threadCount(options.threads)
        try options.checkPrecision()
        for e in entries { try Verifier.verify(e.graph) }
        // Weights packed for another precision are stored in this one's panel format (as `ModuleBuilder` lowers them).
        let entries = entries.map { AOTEntry(name: $0.name, graph: $0.graph.retargetingPanels(to: PanelLayout.Format(options.precision))) }
        let prefixes = entries.map { single ? name : "\(name)_\($0.name)" }
        var times = CompileTimes()
        // The code objects come from the compile cache when it holds them (they depend on the graphs, not
        // on the weights' values: `LibraryData`). LLVM IR and assembly output need the module itself, and
        // `--emit obj` one object: those compile the module whole, on one core (IR and assembly bypass the
        // cache; one object is cached under a key of its own).
        let needsModule = emit.contains(.llvmIR) || emit.contains(.assembly)
        let wholeModule = needsModule || emit.contains(.object)
        // `--cpu multi`: one copy of the code per variant, the last holding the dispatcher (`CPUDispatch`).
        // One variant is an ordinary library for that target.
        var options = options
        if options.variants.count == 1 { options.target = options.variants[0] }
        let variants = options.variants.count > 1 ? options.variants : []
        options.variants = []
        if !variants.isEmpty && wholeModule {
            throw CodegenError("--emit obj, ll and asm write one module, and a --cpu multi library has one per CPU variant: compile for one CPU to emit them")
        }
        var moduleText: [UInt8]?, assembly: [UInt8]?
        var code: CompileCache.Entry?, constants: [ConstantBytes] = []
        var codeKey: String?   // the first variant's: it fixes the constants and their layout
        // Streamed into the file (`FileSink`): never held whole in memory. Or, when the compile cache
        // holds the file these graphs and constants give (`CachedWeights`), a hard link to it. Or, when
        // LLVM compiles the code, written beside it (`StagedWeights`) and linked in.
        var cachedWeights: CachedWeights?, reused: (header: [UInt8], identity: String)?
        var staged: StagedWeights?
        defer { staged?.remove() }
        for (v, variant) in (variants.isEmpty ? [nil] : variants.map(Optional.some)).enumerated() {
            var variantOptions = options
            if let variant { variantOptions.target = variant }
            let prefix = variant.map(CPUDispatch.symbolPrefix)
            let dispatch = variant != nil && v == variants.count - 1 ? variants : nil
            let cacheKey = options.cache.map { _ in
                times.measure("compile cache lookup") {
                    CompileCache.key(library: name, entries: entries, options: variantOptions, embedWeights: embedWeights, generation: generation,
                                     oneObject: wholeModule, variant: prefix.map { "\($0) dispatching \(dispatch?.map(\.cpu) ?? [])" })
                }
            }
            if v == 0 {
                codeKey = cacheKey
                cachedWeights = embedWeights ? nil : CachedWeights(options: options, codeKey: codeKey)
                reused = cachedWeights.flatMap { cached in times.measure("weights cache lookup") { cached.lookup() } }
            }
            // The first variant's constants are the file's: written while LLVM compiles, unless the cache has the file.
            let stage: (([ConstantBytes]) -> Void)? = v == 0 && !embedWeights && reused == nil
                ? { staged = StagedWeights(WeightsFile.Layout($0), name: name, directory: directory) } : nil
            let part: CompileCache.Entry
            if let cache = options.cache, let cacheKey, !needsModule,
               let hit = cachedCode(cache, key: cacheKey, entries: entries, times: &times) {
                (part, constants) = hit
            } else {
                (part, constants) = try compileCode(entries: entries, prefixes: prefixes, name: name, options: variantOptions,
                                                    embedWeights: embedWeights, generation: generation, wholeModule: wholeModule,
                                                    symbolPrefix: prefix, dispatch: dispatch, times: &times, beside: stage) { module in
                    if emit.contains(.llvmIR) { moduleText = Array(ModuleBuilder.text(module).utf8) }
                    if emit.contains(.assembly) { assembly = try ModuleBuilder.emit(module, options: variantOptions, assembly: true) }
                }
                if let cache = options.cache, let cacheKey, !needsModule {
                    times.measure("compile cache store") { cache.store(part, key: cacheKey) }
                }
            }
            if code == nil { code = part } else { code?.objects += part.objects }
        }
        guard let code else { throw CodegenError("no code was compiled") }
        let weights = WeightsFile.Layout(constants)
        let embedded = embedWeights ? times.measure("weight packing") { weights.bytes() } : nil
        let writeStart = DispatchTime.now().uptimeNanoseconds
        // The whole set is written first and switched in only once every file is whole
        // (`writeDirectoryAtomically`): a failure while writing leaves the previous set untouched.
        var pending: [(name: String, content: FileContent)] = []
        func put(_ file: String, _ bytes: [UInt8]) throws { pending.append((file, .bytes(Data(bytes)))) }
        let parent = (URL(fileURLWithPath: directory).standardizedFileURL.deletingLastPathComponent().path)
        do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw CodegenError("cannot create directory \(parent): \(error.localizedDescription)")
        }
        // The library's data object and header hold the weights file's header, whose content hash is
        // known once the file is written: the weights are streamed first (each panel packed once, hashed
        // on the way), the files holding the hash after them.
        let written = WrittenWeights { header in try LibraryData.object(name: name, header: header, embedded: embedded, options: options) }
        if let embedded { written.header = Array(embedded.prefix(weights.unhashedHeader.count)) }
        // One member per code object (`NAME.o`, then `NAME_1.o`, …) and the data object.
        let members = code.objects.enumerated().map { i, o in (name: i == 0 ? "\(name).o" : "\(name)_\(i).o", object: o.bytes, symbols: o.symbols) }
        pending.append(("lib\(name).a", .stream { sink in
            let data = try written.data()
            try sink.write(StaticArchive.make(members + [("\(name)_data.o", data.object, data.symbols)]))
        }))
        pending.append(("\(name).h", .stream { sink in
            try sink.write(Array(CHeader.text(entries: zip(prefixes, entries).map { ($0, $1.graph) }, name: name,
                                              weightsHash: WeightsFile.storedHash(written.header), generation: code.generation,
                                              precision: options.precision, targets: variants.isEmpty ? [options.target] : variants).utf8))
        }))
        try put("module.modulemap", Array(CHeader.moduleMap(name: name).utf8))
        if !embedWeights {
            let stream = { (sink: FileSink) throws in
                let start = DispatchTime.now().uptimeNanoseconds
                written.header = try weights.write(to: sink)
                written.streamed = true
                written.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            if let reused, let cachedWeights {
                written.header = reused.header
                pending.append(("\(name).weights", .link(cachedWeights.path, otherwise: stream)))
            } else if let staged, let file = staged.wait() {
                written.header = file.header
                written.streamed = true
                times.addBeside("weight packing and writing", seconds: file.seconds)
                pending.append(("\(name).weights", .link(staged.path, otherwise: stream)))
            } else {
                pending.append(("\(name).weights", .stream(stream)))
            }
        }
        if emit.contains(.object) {
            try put("\(name).o", code.objects[0].bytes)   // one object: `wholeModule`
            pending.append(("\(name)_data.o", .stream { sink in try sink.write(try written.data().object) }))
        }
        if let moduleText { try put("\(name).ll", moduleText) }
        if let assembly { try put("\(name).s", assembly) }
        if emit.contains(.graph) {
            let text = single ? TextFormat.print(entries[0].graph)
                : entries.map { "// entry \($0.name)\n" + TextFormat.print($0.graph) }.joined(separator: "\n")
            try put("\(name).ir", Array(text.utf8))
        }
        if emit.contains(.dot) {
            try put("\(name).dot", Array(zip(prefixes, entries).map { DOTExport.dot($1.graph, name: $0) }.joined().utf8))
        }
        let owned = Set(outputFiles(name: name, directory: "", embedWeights: false, emit: [.object, .llvmIR, .assembly, .graph, .dot]))
        let weightsFirst = pending.filter { $0.name.hasSuffix(".weights") } + pending.filter { !$0.name.hasSuffix(".weights") }
        do { try writeDirectoryAtomically(weightsFirst, to: directory, owned: owned) } catch { throw CodegenError("\(error)") }
        // Unlinked before the cache records the file's identity: an unlink moves its status-change time.
        staged?.remove()
        staged = nil
        // Whether the cache keeps this library's weights file after the write (then its key is reported).
        var kept = false
        if let cachedWeights {
            let output = (directory as NSString).appendingPathComponent("\(name).weights")
            if let reused, !written.streamed {
                kept = cachedWeights.linked(header: reused.header, identity: reused.identity)
            } else {
                kept = times.measure("weights cache store") { cachedWeights.store(written: output, header: written.header) }
            }
        }
        if !embedWeights && written.seconds > 0 { times.add("weight packing and writing", seconds: written.seconds) }
        times.add("machine code", seconds: written.dataSeconds)
        times.add("writing", seconds: Double(DispatchTime.now().uptimeNanoseconds - writeStart) / 1e9 - written.seconds - written.dataSeconds)
        var output = Output(files: pending.map { (directory as NSString).appendingPathComponent($0.name) }, signature: code.signatures[0],
                            signatures: code.signatures, weightsBytes: weights.fileSize, times: times)
        output.weightsKey = kept ? cachedWeights?.key : nil
        return output
    }

    /// What writing the weights file found out, for the files written after it: its header (content
    /// hash included) and the library's data object holding that header, made once on first use.
    private final class WrittenWeights {
        var header: [UInt8] = []
        /// Whether the file was streamed (packed and written) rather than linked from the cache.
        var streamed = false
        /// The time of writing the weights file, and of making the data object.
        var seconds = 0.0, dataSeconds = 0.0
        private let makeData: ([UInt8]) throws -> (object: [UInt8], symbols: [String])
        private var made: (object: [UInt8], symbols: [String])?

        init(makeData: @escaping ([UInt8]) throws -> (object: [UInt8], symbols: [String])) { self.makeData = makeData }

        func data() throws -> (object: [UInt8], symbols: [String]) {
            if let made { return made }
            guard !header.isEmpty else { throw CodegenError("the library's data object was asked for before the weights were written") }
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try makeData(header)
            dataSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            made = result
            return result
        }
    }

    /// The cached code object of these entries and the weights file's constants, when the entry's slot
    /// table is the one these weights give (which constants entries share depends on their values).
    private static func cachedCode(_ cache: CompileCache, key: String, entries: [AOTEntry], times: inout CompileTimes)
        -> (CompileCache.Entry, [ConstantBytes])? {
        guard let hit = times.measure("compile cache lookup", { cache.load(key) }), hit.signatures.count == entries.count else { return nil }
        let shared = times.measure("weight packing") { sharedConstants(entries, hit.signatures) }
        return shared.slots.flatMap({ $0 }) == hit.constantTable ? (hit, shared.constants) : nil
    }

    /// Lowers, optimizes and emits the library's code (kernels, C API, generation API), reading the
    /// weights only for the file's layout: in partitions on all cores (`ParallelCodegen`), or with
    /// `wholeModule` as one module and object, which `inspect` sees optimized before it is freed.
    /// With `symbolPrefix` (a variant of a `--cpu multi` library) every definition is renamed under it,
    /// and with `dispatch` the module also holds the public forwarders to those variants (`CPUDispatch`).
    /// `beside` is given the weights file's constants as soon as they are known, before LLVM runs.
    private static func compileCode(entries: [AOTEntry], prefixes: [String], name: String, options: CompileOptions, embedWeights: Bool,
                                    generation: AOTGeneration?, wholeModule: Bool, symbolPrefix: String? = nil, dispatch: [HostTarget]? = nil,
                                    times: inout CompileTimes, beside: (([ConstantBytes]) -> Void)? = nil,
                                    inspect: (LLVMModuleRef) throws -> Void) throws -> (entry: CompileCache.Entry, constants: [ConstantBytes]) {
        let context = LLVMContextCreate()!
        defer { LLVMContextDispose(context) }
        var extras = CompileTimes()
        var symbols: [String] = []
        var layout: GenerationAPI.Layout?
        var constants: [ConstantBytes] = []
        var table: [Int] = []
        let kernels = zip(entries, prefixes).map { (graph: $0.graph, name: $1) }
        let (module, signatures) = try ModuleBuilder.build(kernels, module: name, poolPrefix: "\(name)_kernel", options: options,
                                                           context: context, times: &times, optimize: wholeModule) { ir, signatures in
            let (shared, slots) = extras.measure("weight packing") { sharedConstants(entries, signatures) }
            constants = shared
            table = slots.flatMap { $0 }
            try extras.measure("IR emission") {
                let capiEntries = entries.indices.map {
                    CAPI.Entry(prefix: prefixes[$0], graph: entries[$0].graph, signature: signatures[$0], slots: slots[$0])
                }
                var api = CAPI(ir: ir, name: name, entries: capiEntries,
                               constantBytes: shared.map(\.byteCount), defaultThreads: options.threads ?? CAPI.allCores)
                api.precision = options.precision
                api.target = options.target
                api.emit(embeddedBytes: embedWeights ? WeightsFile.Layout.fileSize(shared) : nil)
                symbols = api.symbols
                if let generation {
                    guard let p = entries.firstIndex(where: { $0.name == generation.prefill }),
                          let d = entries.firstIndex(where: { $0.name == generation.decode }) else {
                        throw CodegenError("generation needs the entries '\(generation.prefill)' and '\(generation.decode)'")
                    }
                    let gen = try GenerationAPI(api: api, prefill: p, decode: d, eosTokenIds: generation.eosTokenIds)
                    gen.emit()
                    symbols += gen.symbols
                    layout = gen.layout
                }
                if let symbolPrefix {
                    CPUDispatch.renameDefinitions(ir.module, prefix: symbolPrefix)
                    if let dispatch {
                        try CPUDispatch.emit(ir, library: name, publicSymbols: symbols, variants: dispatch, precision: options.precision)
                    }
                }
            }
        }
        defer { LLVMDisposeModule(module) }
        times.append(extras)
        beside?(constants)
        let objects: [ParallelCodegen.Object]
        if wholeModule {
            let bytes = try times.measure("machine code") { try ModuleBuilder.emit(module, options: options, assembly: false) }
            try inspect(module)
            objects = [ParallelCodegen.Object(bytes: bytes, symbols: symbols)]
        } else {
            objects = try ParallelCodegen.objects(module, kernels: signatures.map { (symbolPrefix ?? "") + $0.name }, options: options, times: &times)
        }
        return (CompileCache.Entry(signatures: signatures, objects: objects, generation: layout, constantTable: table), constants)
    }

    /// The weights file's constants (every kernel's slots, a slot with the same name, layout and bytes
    /// as an earlier one stored once) and, per entry, the file index of each of its kernel's slots.
    static func sharedConstants(_ entries: [AOTEntry], _ signatures: [RunSignature]) -> (constants: [ConstantBytes], slots: [[Int]]) {
        var constants: [ConstantBytes] = []
        var sources: [Tensor] = []
        var byKey: [String: [Int]] = [:]
        var slots: [[Int]] = []
        // The source constants are compared in place (equal sources in the same layout give equal bytes).
        func start(_ t: Tensor) -> UnsafeRawPointer { UnsafeRawPointer(t.storage.base + t.offset * t.dtype.byteSize) }
        for (entry, signature) in zip(entries, signatures) {
            slots.append(signature.constants.map { slot in
                let bytes = slot.bytes(in: entry.graph)
                let source = switch bytes { case .tensor(let t), .panels(let t, _): t }
                let key = "\(slot.name)|\(slot.panels?.rawValue ?? "rows")|\(source.dtype)|\(source.shape)"
                let size = source.count * source.dtype.byteSize
                // Dense tensors with equal strides hold the same elements where their bytes are equal.
                let comparable = { (other: Tensor) in other.strides == source.strides && source.isDense }
                if let existing = byKey[key]?.first(where: { comparable(sources[$0]) && memcmp(start(sources[$0]), start(source), size) == 0 }) {
                    return existing
                }
                constants.append(bytes)
                sources.append(source)
                byKey[key, default: []].append(constants.count - 1)
                return constants.count - 1
            })
        }
        return (constants, slots)
    }
}
