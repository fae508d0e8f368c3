import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// A library's weights file kept in the compile cache as a hard link to the one a compile wrote, so that
/// compiling the same model files again into another directory links that file instead of packing,
/// hashing and writing hundreds of MB (BERT-base: 440 MB). A hard link shares the file's blocks, so the
/// cache costs no disk space while the library it came from exists.
///
/// Keyed by the library's code key (graphs, name, options: which constants, in which layout) and
/// `CompileOptions.weightsSource`, the identity of the files the constants were read from (device,
/// inode, size, modification and status-change times: `UpToDate`); without it nothing is reused. The record
/// `KEY.tcw` holds the file's header (content hash included: the data object and C header repeat it)
/// and the file's identity. A linked file is shared with every library it was linked into, so it is
/// used only while that identity is unchanged: an edit of any of them, in place, moves its
/// status-change time and the cached file is dropped. Outputs are never rewritten in place by TCompile
/// (they are new files renamed into place). Across file systems, where a hard link cannot go, nothing is
/// reused.
struct CachedWeights {
    static let fileSuffix = ".weights", recordSuffix = ".tcw"

    let cache: CompileCache
    let key: String

    /// The cache entry for the weights of a library with code key `codeKey`; nil without a cache or a weights source.
    init?(options: CompileOptions, codeKey: String?) {
        guard let cache = options.cache, let source = options.weightsSource, let codeKey else { return nil }
        var hasher = EntryHash()
        hasher.add(Array("tcompile-weights/\(Self.formatVersion)\n\(codeKey)\n\(source)".utf8))
        self.cache = cache
        self.key = hasher.hex
    }

    /// The entry `key` of `cache` (a key an earlier compile reported: `AOTCompiler.Output.weightsKey`).
    init(cache: CompileCache, key: String) {
        self.cache = cache
        self.key = key
    }

    var path: String { cache.path(key, suffix: Self.fileSuffix) }
    private var recordPath: String { cache.path(key, suffix: Self.recordSuffix) }

    /// The cached file's header and identity when it is there with the identity recorded for it.
    func lookup() -> (header: [UInt8], identity: String)? {
        guard let data = FileManager.default.contents(atPath: recordPath), let (identity, header) = Self.decode([UInt8](data), key: key),
              UpToDate.identity(of: path) == identity else { return nil }
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: recordPath)
        return (header, identity)
    }

    /// Links the weights file a compile just wrote at `written` (whose header is `header`) into the
    /// cache; whether the cache keeps it (the trim that follows may drop it at once).
    @discardableResult
    func store(written: String, header: [UInt8]) -> Bool {
        do { try FileManager.default.createDirectory(atPath: cache.directory, withIntermediateDirectories: true) } catch { return false }
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard link(written, temporary) == 0 else { return false }
        guard rename(temporary, path) == 0 else { unlink(temporary); return false }
        guard record(header: header) else { return false }
        cache.trim()
        return FileManager.default.fileExists(atPath: path) && FileManager.default.fileExists(atPath: recordPath)
    }

    /// After the cached file, found with `identity`, was linked into a library (which moved its
    /// status-change time): records its identity again if only that time moved (same inode, size and
    /// modification time), else drops it; whether the cache still keeps it.
    @discardableResult
    func linked(header: [UInt8], identity: String) -> Bool {
        let withoutChangeTime = { (identity: String) in identity.split(separator: " ").dropLast() }
        guard let now = UpToDate.identity(of: path), withoutChangeTime(now) == withoutChangeTime(identity) else {
            unlink(recordPath)
            return false
        }
        return record(header: header)
    }

    /// Writes the record of the cached file as it is now; whether it was written.
    private func record(header: [UInt8]) -> Bool {
        guard let identity = UpToDate.identity(of: path) else { return false }
        do { try writeFileAtomically(Data(Self.encode(identity: identity, header: header, key: key)), to: recordPath) } catch { return false }
        return true
    }

    // MARK: - Record format

    static let formatVersion = 1
    private static let magic = Array("TCOMPILE-WEIGHTS\u{0}".utf8)

    /// magic, format version, key, the file's identity, its header.
    static func encode(identity: String, header: [UInt8], key: String) -> [UInt8] {
        var out = SealedRecordWriter(magic: magic)
        out.u64(formatVersion)
        out.string(key)
        out.string(identity)
        out.data(header)
        return out.sealed()
    }

    static func decode(_ data: [UInt8], key: String) -> (identity: String, header: [UInt8])? {
        guard var r = SealedRecordReader(data, magic: magic), r.u64() == formatVersion, r.string() == key,
              let identity = r.string(), let header = r.data(), r.atEnd, header.count >= WeightsFile.headerBytes else { return nil }
        return (identity, header)
    }
}
