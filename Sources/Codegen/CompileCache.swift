import CLLVM
import Foundation
import Graph
import Tensors

/// Machine code of compiled graphs kept on disk, so that the same graph is never compiled twice: the
/// JIT (`CompiledModel`, hence `compile(graph)`, `tcompile run --compiled`, `tcompile bench` and
/// `CompiledGenerator`) looks here before it runs LLVM.
///
/// An entry is keyed by a 128-bit hash of everything the machine code depends on: the graph's text form
/// (ops, attributes, shapes, symbol bounds; constants by name and type: the kernels receive their bytes
/// at run time, so weights do not change the code), the function name, the optimization level, the precision, the
/// target triple, CPU and features, LLVM's version, and the identity of the running binary (its path, size and
/// modification time, so that a rebuilt TCompile never reads code an older one wrote). An entry holds
/// the object file and the run signature, and ends with a checksum; an entry that is truncated,
/// corrupted, written for another key or by another format is ignored and rebuilt. Entries are written
/// to a temporary name and renamed into place, so concurrent compiles of one graph are safe. The folder
/// is bounded (`maximumBytes`, 4 GiB by default; weights files kept for `CachedWeights` count whole, though they
/// share their blocks with the libraries they were linked into): after a store the least recently used entries (by
/// modification time, refreshed on every hit) are deleted until it fits.
public struct CompileCache: Sendable {
    /// The folder holding the entries (`*.tco`).
    public var directory: String
    /// The size the folder is trimmed to after each store.
    public var maximumBytes: Int

    /// A cache in `directory` (created on the first store), trimmed to `maximumBytes`.
    public init(directory: String, maximumBytes: Int = 4 << 30) {
        self.directory = directory
        self.maximumBytes = maximumBytes
    }

    /// `$TCOMPILE_CACHE_DIR`, else `$XDG_CACHE_HOME/tcompile`, else `~/.cache/tcompile`; nil (no cache)
    /// when `TCOMPILE_CACHE_DIR` is set but empty, or when there is no home folder.
    public static var standard: CompileCache? {
        let environment = ProcessInfo.processInfo.environment
        if let directory = environment["TCOMPILE_CACHE_DIR"] {
            return directory.isEmpty ? nil : CompileCache(directory: directory)
        }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return CompileCache(directory: (xdg as NSString).appendingPathComponent("tcompile"))
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return CompileCache(directory: (home as NSString).appendingPathComponent(".cache/tcompile"))
    }

    /// What a hit gives back: the object file and the signatures of its kernels (one for the JIT); for
    /// an AOT library also the symbols it defines and the generation API's layout.
    struct Entry {
        var signatures: [RunSignature]
        /// The code objects (one per partition of `ParallelCodegen`, or the one module's) and the global
        /// symbols each defines.
        var objects: [ParallelCodegen.Object]
        var generation: GenerationAPI.Layout? = nil
        /// For an AOT library: each kernel slot's index in the weights file, kernels in order (which
        /// constants the entries share depends on their values, so a hit must lay the file out alike).
        var constantTable: [Int] = []

        var signature: RunSignature { signatures[0] }

        init(signature: RunSignature, objects: [ParallelCodegen.Object]) {
            self.signatures = [signature]
            self.objects = objects
        }

        init(signatures: [RunSignature], objects: [ParallelCodegen.Object], generation: GenerationAPI.Layout?, constantTable: [Int]) {
            self.signatures = signatures
            self.objects = objects
            self.generation = generation
            self.constantTable = constantTable
        }
    }

    /// The key of `graph` compiled as `name` with `options` (32 hex digits).
    static func key(_ graph: Graph, name: String, options: CompileOptions) -> String {
        hash(kind: "object", options: options, "\(name)\n" + TextFormat.print(graph))
    }

    /// The entry for `key`, or nil when there is none or it does not read back whole.
    func load(_ key: String) -> Entry? {
        let path = self.path(key)
        guard let data = FileManager.default.contents(atPath: path), let entry = CompileCache.decode([UInt8](data), key: key) else {
            return nil
        }
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: path)
        return entry
    }

    /// Stores `entry` under `key` (best effort: a cache that cannot be written only costs time), then trims
    /// the folder to `maximumBytes`.
    func store(_ entry: Entry, key: String) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try writeFileAtomically(Data(CompileCache.encode(entry, key: key)), to: path(key))
            trim()
        } catch {
            return
        }
    }

    func path(_ key: String, suffix: String = ".tco") -> String { (directory as NSString).appendingPathComponent(key + suffix) }

    /// Deletes the least recently used files (code entries, up-to-date records `UpToDate`, weights files
    /// and their records `CachedWeights`) until the folder's files fit in `maximumBytes`. A weights file
    /// is as recent as its record (a hit refreshes the record: touching the shared file itself would move
    /// its identity) and goes with it.
    func trim() {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else { return }
        let suffixes = [".tco", UpToDate.suffix, CachedWeights.fileSuffix, CachedWeights.recordSuffix]
        var entries: [(path: String, date: Date, size: Int)] = []
        func attributes(_ path: String) -> (date: Date, size: Int)? {
            guard let attributes = try? manager.attributesOfItem(atPath: path),
                  let date = attributes[.modificationDate] as? Date, let size = attributes[.size] as? Int else { return nil }
            return (date, size)
        }
        for name in names where suffixes.contains(where: { name.hasSuffix($0) }) {
            let path = (directory as NSString).appendingPathComponent(name)
            guard var found = attributes(path) else { continue }
            if name.hasSuffix(CachedWeights.fileSuffix) {
                let record = String(path.dropLast(CachedWeights.fileSuffix.count)) + CachedWeights.recordSuffix
                found.date = attributes(record)?.date ?? .distantPast
            }
            entries.append((path, found.date, found.size))
        }
        var total = entries.reduce(0) { $0 + $1.size }
        for entry in entries.sorted(by: { $0.date < $1.date }) where total > maximumBytes {
            try? manager.removeItem(atPath: entry.path)
            total -= entry.size
        }
    }

    // MARK: - Entry format

    /// The key of an AOT library's code object: its entries' graphs and names, the library's name and
    /// options, whether its weights are embedded (their size is part of the code) and its generation
    /// settings, and whether the code is one object (`--emit obj`) or one per partition. The weights'
    /// values are not: they live in the library's data object (`LibraryData`).
    static func key(library name: String, entries: [AOTEntry], options: CompileOptions, embedWeights: Bool, generation: AOTGeneration?,
                    oneObject: Bool = false, variant: String? = nil) -> String {
        var material = "threads \(options.threads.map(String.init) ?? "all")\n\(name)\nembed \(embedWeights)\n"
        if oneObject { material += "one object\n" }
        if let variant { material += "variant \(variant)\n" }
        if let generation { material += "generate \(generation.prefill) \(generation.decode) eos \(generation.eosTokenIds)\n" }
        for entry in entries { material += "entry \(entry.name)\n" + TextFormat.print(entry.graph) }
        return hash(kind: "aot", options: options, material)
    }

    /// The hash of what every key covers (format, binary, LLVM, target, optimization level, precision)
    /// followed by `material`.
    private static func hash(kind: String, options: CompileOptions, _ material: String) -> String {
        var text = "tcompile-\(kind)-cache/\(formatVersion)\n\(binaryIdentity)\nllvm \(HostTarget.llvmVersion)\n"
        text += "\(options.target.triple)\n\(options.target.cpu)\n\(options.target.features)\n"
        text += "O\(options.optimizationLevel)\nprecision \(options.precision)\n" + material
        var hasher = EntryHash()
        hasher.add(Array(text.utf8))
        return hasher.hex
    }

    /// Bumped whenever the entry layout or what the key covers changes.
    static let formatVersion = 4
    private static let magic = Array("TCOMPILE-OBJECT-CACHE\u{0}".utf8)

    /// The running binary's path, size and modification time.
    static let binaryIdentity: String = {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
              let attributes = try? FileManager.default.attributesOfItem(atPath: executable),
              let size = attributes[.size] as? Int, let date = attributes[.modificationDate] as? Date else {
            return "binary unknown \(ProcessInfo.processInfo.processIdentifier)"  // never matches another process
        }
        return "binary \(executable) \(size) \(date.timeIntervalSince1970)"
    }()

    /// magic, format version, key, signatures (each: name, workspace bytes, task scratch bytes,
    /// constants as panel format (0 row-major, else 1 + its `PanelLayout.Format` index) + name), objects (each: bytes, symbols), generation layout (flag, then max length,
    /// vocabulary, layers, stop ids); every length and number a little-endian UInt64; then the hash of
    /// all of it.
    static func encode(_ entry: Entry, key: String) -> [UInt8] {
        var out = SealedRecordWriter(magic: magic)
        out.u64(formatVersion)
        out.string(key)
        out.u64(entry.signatures.count)
        for signature in entry.signatures {
            out.string(signature.name)
            out.u64(signature.workspaceBytes)
            out.u64(signature.taskScratchBytes)
            out.u64(signature.constants.count)
            for slot in signature.constants {
                out.byte(slot.panels.flatMap { PanelLayout.Format.allCases.firstIndex(of: $0) }.map { UInt8($0 + 1) } ?? 0)
                out.string(slot.name)
            }
        }
        out.u64(entry.objects.count)
        for object in entry.objects {
            out.data(object.bytes)
            out.u64(object.symbols.count)
            for symbol in object.symbols { out.string(symbol) }
        }
        if let g = entry.generation {
            out.u64(1)
            out.u64(g.maxLength); out.u64(g.vocabulary); out.u64(g.layers); out.u64(g.defaultStops.count)
            for stop in g.defaultStops { out.u64(stop) }
        } else {
            out.u64(0)
        }
        out.u64(entry.constantTable.count)
        for index in entry.constantTable { out.u64(index) }
        return out.sealed()
    }

    /// The entry in `data` if it is whole, of this format and for `key`; nil otherwise.
    static func decode(_ data: [UInt8], key: String) -> Entry? {
        guard var r = SealedRecordReader(data, magic: magic) else { return nil }
        guard r.u64() == formatVersion, r.string() == key, let kernels = r.count(), kernels >= 1 else { return nil }
        var signatures: [RunSignature] = []
        for _ in 0..<kernels {
            guard let name = r.string(), let workspace = r.u64(), let scratch = r.u64(), let count = r.count() else { return nil }
            var constants: [ConstantSlot] = []
            for _ in 0..<count {
                let formats = PanelLayout.Format.allCases
                guard let layout = r.byte(), layout <= formats.count, let constantName = r.string() else { return nil }
                constants.append(ConstantSlot(name: constantName, panels: layout == 0 ? nil : formats[Int(layout) - 1]))
            }
            signatures.append(RunSignature(name: name, constants: constants, workspaceBytes: workspace, taskScratchBytes: scratch))
        }
        guard let objectCount = r.count(), objectCount >= 1 else { return nil }
        var objects: [ParallelCodegen.Object] = []
        for _ in 0..<objectCount {
            guard let object = r.data(), let symbolCount = r.count() else { return nil }
            var symbols: [String] = []
            for _ in 0..<symbolCount {
                guard let symbol = r.string() else { return nil }
                symbols.append(symbol)
            }
            objects.append(ParallelCodegen.Object(bytes: object, symbols: symbols))
        }
        var generation: GenerationAPI.Layout?
        switch r.u64() {
        case 0?: break
        case 1?:
            guard let maxLength = r.u64(), let vocabulary = r.u64(), let layers = r.u64(), let stopCount = r.count() else { return nil }
            var stops: [Int] = []
            for _ in 0..<stopCount {
                guard let stop = r.u64() else { return nil }
                stops.append(stop)
            }
            generation = GenerationAPI.Layout(maxLength: maxLength, vocabulary: vocabulary, layers: layers, defaultStops: stops)
        default: return nil
        }
        guard let tableCount = r.count() else { return nil }
        var table: [Int] = []
        for _ in 0..<tableCount {
            guard let index = r.u64() else { return nil }
            table.append(index)
        }
        guard r.atEnd else { return nil }
        return Entry(signatures: signatures, objects: objects, generation: generation, constantTable: table)
    }
}

/// A 128-bit hash (two independent 64-bit FNV-1a-style lanes with a final mix), for cache keys and
/// entry checksums: detects corruption and separates keys; not a defence against a deliberate collision
/// (the cache folder belongs to the user who runs TCompile).
struct EntryHash {
    private var a: UInt64 = 0xcbf2_9ce4_8422_2325
    private var b: UInt64 = 0x8422_2325_cbf2_9ce4

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            b = (b ^ UInt64(byte)) &* 0x9E37_79B9_7F4A_7C15
            b ^= b >> 29
        }
    }

    var hex: String {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let hi = String(mix(a ^ (b << 1)), radix: 16), lo = String(mix(b ^ (a >> 3)), radix: 16)
        return String(repeating: "0", count: 16 - hi.count) + hi + String(repeating: "0", count: 16 - lo.count) + lo
    }
}
