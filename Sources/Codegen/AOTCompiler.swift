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

/// Ahead-of-time compilation: a static library, C header, module map and weights that an app links.
public enum AOTCompiler {
    /// The files written, by kind.
    public struct Output: Sendable {
        public var files: [String]
        public var signature: RunSignature
        public var weightsBytes: Int
        /// Where the compilation's time went: IR emission, weight packing, LLVM optimization, machine code, writing.
        public var times: CompileTimes
    }

    /// The paths `write` produces for these settings, in the order it writes them; callers check them
    /// before compiling (tcompile refuses to write over its inputs).
    public static func outputFiles(name: String, directory: String, embedWeights: Bool = false, emit: EmitKinds = []) -> [String] {
        var files = ["lib\(name).a", "\(name).h", "module.modulemap"]
        if !embedWeights { files.append("\(name).weights") }
        let extras: [(EmitKinds, String)] = [(.object, "o"), (.llvmIR, "ll"), (.assembly, "s"), (.graph, "ir"), (.dot, "dot")]
        for (kind, suffix) in extras where emit.contains(kind) { files.append("\(name).\(suffix)") }
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
        guard CIdentifier.isValid(name) else {
            throw CodegenError("model name '\(name)' is not a C identifier (ASCII letters, digits and _, not starting with a digit)")
        }
        _ = try CompileOptions.threadCount(options.threads)
        try Verifier.verify(graph)
        let context = LLVMContextCreate()!
        defer { LLVMContextDispose(context) }
        var weights: [UInt8] = []
        var times = CompileTimes()
        var extras = CompileTimes()
        let (module, signature) = try ModuleBuilder.build(graph, name: name, options: options, context: context, times: &times) { ir, signature in
            let constants = extras.measure("weight packing") { signature.constants.map { $0.data(in: graph) } }
            weights = extras.measure("weight packing") { WeightsFile.encode(constants) }
            extras.measure("IR emission") {
                var api = CAPI(ir: ir, graph: graph, name: name, signature: signature,
                               constantBytes: constants.map { $0.count * $0.dtype.byteSize }, defaultThreads: options.threads ?? CAPI.allCores)
                api.weightsHeader = Array(weights.prefix(WeightsFile.headerBytes + 16 * constants.count))
                api.emit(embedded: embedWeights ? weights : nil)
            }
        }
        defer { LLVMDisposeModule(module) }
        times.append(extras)
        let object = try times.measure("machine code") { try ModuleBuilder.emit(module, options: options, assembly: false) }
        let writeStart = DispatchTime.now().uptimeNanoseconds
        let api = CAPI(ir: IRBuilder(context: context, module: module), graph: graph, name: name, signature: signature, constantBytes: [])
        // The whole set is written first and switched in only once every file is whole
        // (`writeDirectoryAtomically`): a failure while writing leaves the previous set untouched.
        var pending: [(name: String, data: Data)] = []
        func put(_ file: String, _ bytes: [UInt8]) throws { pending.append((file, Data(bytes))) }
        let parent = (URL(fileURLWithPath: directory).standardizedFileURL.deletingLastPathComponent().path)
        do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw CodegenError("cannot create directory \(parent): \(error.localizedDescription)")
        }
        try put("lib\(name).a", StaticArchive.make(objectName: "\(name).o", object: object, symbols: api.symbols))
        try put("\(name).h", Array(CHeader.text(graph, name: name, weightsHash: WeightsFile.storedHash(weights)).utf8))
        try put("module.modulemap", Array(CHeader.moduleMap(name: name).utf8))
        if !embedWeights { try put("\(name).weights", weights) }
        if emit.contains(.object) { try put("\(name).o", object) }
        if emit.contains(.llvmIR) { try put("\(name).ll", Array(ModuleBuilder.text(module).utf8)) }
        if emit.contains(.assembly) { try put("\(name).s", try ModuleBuilder.emit(module, options: options, assembly: true)) }
        if emit.contains(.graph) { try put("\(name).ir", Array(TextFormat.print(graph).utf8)) }
        if emit.contains(.dot) { try put("\(name).dot", Array(DOTExport.dot(graph, name: name).utf8)) }
        let owned = Set(outputFiles(name: name, directory: "", embedWeights: false, emit: [.object, .llvmIR, .assembly, .graph, .dot]))
        do { try writeDirectoryAtomically(pending, to: directory, owned: owned) } catch { throw CodegenError("\(error)") }
        times.add("writing", seconds: Double(DispatchTime.now().uptimeNanoseconds - writeStart) / 1e9)
        return Output(files: pending.map { (directory as NSString).appendingPathComponent($0.name) }, signature: signature,
                      weightsBytes: weights.count, times: times)
    }
}
