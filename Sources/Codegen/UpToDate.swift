import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// Skips a library compile whose result already exists, as make and ninja skip a target that is
/// newer than its inputs and ccache restores an object it compiled before: the second `tcompile
/// model.json -o out` of an unchanged model writes nothing, and one into another directory copies the
/// small files from the cache and links the weights file the cache kept (`CachedWeights`).
///
/// A record in the compile cache's folder (`KEY.tcb`) is keyed by the command's settings (its
/// arguments without the output directory, the host CPU, the TCompile binary and the LLVM version) and
/// by the identity of every input file: its absolute path, device, inode, size, modification and
/// status-change times, through symlinks; folders are walked and their listings included. Every write to
/// a file moves its status-change time, which no program can set, so a changed input gives another key.
/// The record lists each output file with its identity right after the compile wrote it, and holds the
/// bytes of every output but the weights file. Outputs are always written as new files and renamed into
/// place, never rewritten in place, so an output that was edited, replaced or deleted no longer has its
/// identity. The compile is up to date when every output in the directory asked for still has it;
/// otherwise the library is restored from the record when the cache still holds its weights file. Anything
/// else (no record, a weights file gone or edited, an unreadable record) runs the compile, which still
/// takes its code from the compile cache.
public struct UpToDate: Sendable {
    /// The file name suffix of records in the cache folder (trimmed with the entries, least recently used first).
    public static let suffix = ".tcb"
    /// Folder levels walked below an input folder, and the most files in all: beyond either, no record is kept.
    static let maximumDepth = 4, maximumFiles = 100_000

    let cache: CompileCache
    /// 32 hex digits.
    public let key: String
    /// The hash of the inputs' identities alone (no settings): where the constants come from, for
    /// `CompileOptions.weightsSource`.
    public let inputsIdentity: String
    private let settings: [String], inputs: [String], excluding: [String]
    /// Whether an input changed so shortly before the key was taken that a later change could carry the
    /// same timestamps (the kernel stamps files from a clock that ticks every few milliseconds; git calls
    /// such files "racily clean"): then no record is kept.
    private let racy: Bool

    /// What an earlier compile with the same key wrote.
    public struct Record: Sendable, Equatable {
        /// The output files, as the compile listed them.
        public var outputs: [String]
        /// Lines of that compile's summary worth repeating (its accuracy report).
        public var notes: [String]
        /// When it finished.
        public var date: Date
        /// Each output's identity when it was written (`identity(of:)`).
        var identities: [String] = []
        /// The bytes of each output but the weights file (empty when one was too large to keep: then
        /// the record only says whether its directory is up to date).
        var contents: [[UInt8]] = []
        /// The `CachedWeights` key of the library's weights file, when the cache keeps it.
        var weightsKey: String? = nil
    }

    /// What `check` found.
    public enum Outcome: Sendable {
        /// The directory holds this compile's outputs, untouched: nothing was written.
        case upToDate(Record)
        /// The outputs were written into the directory from the record and the cache (`Record.outputs` are the new paths).
        case restored(Record)
        /// Nothing to reuse: compile.
        case compile
    }

    /// Outputs larger than this are not kept in a record (the weights file never is: `CachedWeights` keeps it).
    static let maximumKeptBytes = 64 << 20

    /// The check of a compile with these settings, reading `inputs` (files or folders; anything under the
    /// `excluding` paths, the outputs, is left out); nil without a cache, or when an input cannot be read
    /// (the compile then runs and reports the error itself).
    public init?(cache: CompileCache?, settings: [String], inputs: [String], excluding: [String]) {
        guard let cache else { return nil }
        self.cache = cache
        self.settings = settings
        self.inputs = inputs
        self.excluding = excluding.map(Self.standardized)
        guard let (key, newest, inputsIdentity) = Self.key(settings: settings, inputs: inputs, excluding: self.excluding) else { return nil }
        self.key = key
        self.inputsIdentity = inputsIdentity
        racy = newest > Date().timeIntervalSince1970 - Self.clockTick
    }

    /// A bound on the kernel's timestamp granularity (one tick at HZ = 100), in seconds.
    static let clockTick = 0.02

    /// Whether the outputs of an earlier identical compile are in `directory`, untouched (then nothing is
    /// written), or can be restored there from the record and the cache's weights file (then they are,
    /// switched in at once as a compile's are), or neither.
    public func check(outputDirectory directory: String) -> Outcome {
        let path = cache.path(key, suffix: Self.suffix)
        guard let data = FileManager.default.contents(atPath: path), var record = Self.decode([UInt8](data), key: key) else { return .compile }
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: path)
        let directory = Self.standardized(directory)
        let names = record.outputs.map { ($0 as NSString).lastPathComponent }
        let here = names.map { (directory as NSString).appendingPathComponent($0) }
        if here == record.outputs, zip(record.outputs, record.identities).allSatisfy({ Self.identity(of: $0) == $1 }) {
            return .upToDate(record)
        }
        // Restore: every output but the weights from the record, the weights linked from the cache.
        let weightsFiles = names.filter { $0.hasSuffix(".weights") }
        guard record.contents.count == names.count - weightsFiles.count, weightsFiles.count <= 1 else { return .compile }
        var weights: (file: CachedWeights, found: (header: [UInt8], identity: String))?
        if !weightsFiles.isEmpty {
            guard let key = record.weightsKey else { return .compile }
            let file = CachedWeights(cache: cache, key: key)
            guard let found = file.lookup() else { return .compile }
            weights = (file, found)
        }
        var files: [(name: String, content: FileContent)] = []
        var contents = record.contents.makeIterator()
        for name in names {
            if name.hasSuffix(".weights"), let weights {
                files.append((name, .link(weights.file.path, otherwise: { _ in throw CodegenError("the cached weights file cannot be linked") })))
            } else if let bytes = contents.next() {
                files.append((name, .bytes(Data(bytes))))
            }
        }
        do { try writeDirectoryAtomically(files, to: directory, owned: Set(names)) } catch { return .compile }
        if let weights { weights.file.linked(header: weights.found.header, identity: weights.found.identity) }
        record.outputs = here
        record.identities = here.map { Self.identity(of: $0) ?? "" }
        write(record)
        return .restored(record)
    }

    /// Records the outputs a successful compile just wrote (best effort: a record that cannot be written
    /// only costs the next compile its time), with `weightsKey` when the cache keeps its weights file.
    /// Nothing is recorded when an input changed during the compile.
    public func store(outputs: [String], notes: [String] = [], weightsKey: String? = nil) {
        guard !racy, Self.key(settings: settings, inputs: inputs, excluding: excluding)?.key == key else { return }
        var record = Record(outputs: outputs, notes: notes, date: Date(), weightsKey: weightsKey)
        for output in outputs {
            guard let identity = Self.identity(of: output) else { return }
            record.identities.append(identity)
        }
        var contents: [[UInt8]] = []
        for output in outputs where !output.hasSuffix(".weights") {
            guard let size = (try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? Int, size <= Self.maximumKeptBytes,
                  let bytes = FileManager.default.contents(atPath: output) else { contents = []; break }
            contents.append([UInt8](bytes))
        }
        // Restorable only with every small output and, when there is a weights file, the cache's copy of it.
        let hasWeights = outputs.contains { $0.hasSuffix(".weights") }
        record.contents = contents.count == outputs.count - (hasWeights ? 1 : 0) && (!hasWeights || weightsKey != nil) ? contents : []
        do { try FileManager.default.createDirectory(atPath: cache.directory, withIntermediateDirectories: true) } catch { return }
        write(record)
        cache.trim()
    }

    private func write(_ record: Record) {
        try? writeFileAtomically(Data(Self.encode(record, key: key)), to: cache.path(key, suffix: Self.suffix))
    }

    // MARK: - Key

    /// The hash of the settings and of every input's identity, and the newest status-change time of an
    /// input (seconds since 1970); nil when an input cannot be read.
    static func key(settings: [String], inputs: [String], excluding: [String]) -> (key: String, newestChange: Double, inputsIdentity: String)? {
        var text = "tcompile-up-to-date/\(formatVersion)\n\(CompileCache.binaryIdentity)\nllvm \(HostTarget.llvmVersion)\n"
        let host = HostTarget.host()
        text += "host \(host.triple) \(host.cpu) \(host.features)\n"
        for setting in settings { text += "setting \(setting.utf8.count) \(setting)\n" }
        var files = 0, newest = 0.0, described = ""
        for input in inputs {
            guard describe(standardized(input), depth: 0, excluding: excluding, files: &files, newest: &newest, into: &described) else { return nil }
        }
        var hasher = EntryHash(), inputsHasher = EntryHash()
        hasher.add(Array((text + described).utf8))
        inputsHasher.add(Array(described.utf8))
        return (hasher.hex, newest, inputsHasher.hex)
    }

    /// Appends `path`'s identity and, for a folder, its listing and each entry's description.
    private static func describe(_ path: String, depth: Int, excluding: [String], files: inout Int, newest: inout Double,
                                 into text: inout String) -> Bool {
        if excluding.contains(where: { path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) { return true }
        files += 1
        var info = stat()
        guard files <= maximumFiles, stat(path, &info) == 0 else { return false }
        let identity = identity(info)
        text += "input \(path.utf8.count) \(path) \(identity)\n"
        newest = max(newest, Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9)
        guard identity.hasPrefix("dir ") else { return true }
        guard depth < maximumDepth, let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return false }
        for name in names.sorted() {
            guard describe((path as NSString).appendingPathComponent(name), depth: depth + 1, excluding: excluding, files: &files,
                           newest: &newest, into: &text) else {
                return false
            }
        }
        return true
    }

    /// `dir` or `file`, then device, inode, size, and modification and status-change times to the
    /// nanosecond, following symlinks; nil when `path` does not exist. A folder's own times are left out
    /// (they change when an excluded entry comes and goes; its listing is described instead).
    static func identity(of path: String) -> String? {
        var info = stat()
        return stat(path, &info) == 0 ? identity(info) : nil
    }

    private static func identity(_ info: stat) -> String {
        if (info.st_mode & S_IFMT) == S_IFDIR { return "dir \(info.st_dev) \(info.st_ino)" }
        return "file \(info.st_dev) \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
    }

    private static func standardized(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    // MARK: - Record format

    /// Bumped whenever the record layout or what the key covers changes.
    static let formatVersion = 2
    private static let magic = Array("TCOMPILE-UP-TO-DATE\u{0}".utf8)

    /// magic, format version, key, date (seconds since 1970), outputs (each: path, identity), notes, the
    /// kept contents, the weights key (flag, then the key).
    static func encode(_ record: Record, key: String) -> [UInt8] {
        var out = SealedRecordWriter(magic: magic)
        out.u64(formatVersion)
        out.string(key)
        out.u64(Int(record.date.timeIntervalSince1970))
        out.u64(record.outputs.count)
        for (path, identity) in zip(record.outputs, record.identities) {
            out.string(path)
            out.string(identity)
        }
        out.u64(record.notes.count)
        for note in record.notes { out.string(note) }
        out.u64(record.contents.count)
        for content in record.contents { out.data(content) }
        out.u64(record.weightsKey == nil ? 0 : 1)
        if let weightsKey = record.weightsKey { out.string(weightsKey) }
        return out.sealed()
    }

    /// The record in `data`, if it is whole and for `key`.
    static func decode(_ data: [UInt8], key: String) -> Record? {
        guard var r = SealedRecordReader(data, magic: magic), r.u64() == formatVersion, r.string() == key,
              let seconds = r.u64(), let outputCount = r.count(), outputCount >= 1 else { return nil }
        var record = Record(outputs: [], notes: [], date: Date(timeIntervalSince1970: TimeInterval(seconds)))
        for _ in 0..<outputCount {
            guard let path = r.string(), let identity = r.string() else { return nil }
            record.outputs.append(path)
            record.identities.append(identity)
        }
        guard let noteCount = r.count() else { return nil }
        for _ in 0..<noteCount {
            guard let note = r.string() else { return nil }
            record.notes.append(note)
        }
        guard let contentCount = r.count() else { return nil }
        for _ in 0..<contentCount {
            guard let content = r.data() else { return nil }
            record.contents.append(content)
        }
        switch r.u64() {
        case 0?: break
        case 1?:
            guard let weightsKey = r.string() else { return nil }
            record.weightsKey = weightsKey
        default: return nil
        }
        guard r.atEnd else { return nil }
        return record
    }
}
