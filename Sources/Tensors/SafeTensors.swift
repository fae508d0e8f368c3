import Foundation
import JSON

/// Why a safetensors file could not be read or written; every case names the file, and the tensor
/// when one is at fault.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file involved.
    public var path: String
    /// The tensor at fault, if the problem is one tensor's.
    public var tensor: String?
    /// What is wrong.
    public var reason: String

    public var description: String {
        "\(path)" + (tensor.map { ": tensor '\($0)'" } ?? "") + ": \(reason)"
    }
}

/// A safetensors file opened by memory-mapping: the header is parsed and checked up front, tensors are
/// materialized on request (float32/int32/int64/bool without copying when aligned).
///
/// ```swift
/// let file = try SafeTensorsFile(path: "model.safetensors")
/// let w = try file.tensor("encoder.layer.0.attention.self.query.weight")
/// ```
public final class SafeTensorsFile: @unchecked Sendable {
    /// A tensor's entry in the header.
    public struct Entry: Sendable, Equatable {
        /// The stored type as safetensors names it (`F32`, `F16`, `BF16`, `I64`, …).
        public var storedType: String
        /// The tensor's shape.
        public var shape: [Int]
        /// Byte range within the data section.
        public var range: Range<Int>
    }

    /// The file's path.
    public let path: String
    /// Header entries by tensor name.
    public let entries: [String: Entry]
    /// The free-form `__metadata__` strings.
    public let metadata: [String: String]
    /// Tensor names in the order of their data.
    public var names: [String] { entries.sorted { $0.value.range.lowerBound < $1.value.range.lowerBound }.map(\.key) }

    private let mapping: FileMapping
    private let dataStart: Int

    /// The most elements a tensor's shape may describe (2⁴⁸, with zero dims counted as 1): far above
    /// any real tensor, far below where strides and byte counts overflow.
    public static let maximumElements = 1 << 48

    /// Bytes per element of each stored type, and the dtype it becomes.
    static let storedTypes: [String: (size: Int, dtype: DType)] = [
        "F32": (4, .float32), "F16": (2, .float32), "BF16": (2, .float32), "F64": (8, .float32),
        "I64": (8, .int64), "I32": (4, .int32), "I16": (2, .int32), "I8": (1, .int32), "U8": (1, .int32),
        "BOOL": (1, .bool),
    ]

    /// Opens and validates `path`: header size, JSON, dtypes, shapes, and that the data offsets tile
    /// the data section exactly (no gaps, overlaps or out-of-range ranges).
    public init(path: String) throws {
        self.path = path
        func fail(_ reason: String, _ tensor: String? = nil) -> SafeTensorsError {
            SafeTensorsError(path: path, tensor: tensor, reason: reason)
        }
        let mapping = try FileMapping(path: path)
        self.mapping = mapping
        guard mapping.size >= 8 else { throw fail("file is \(mapping.size) bytes, too short for a safetensors header") }
        // The size is an untrusted u64: compare before converting (a value above Int.max must not trap).
        let declaredSize = UInt64(littleEndian: mapping.base.loadUnaligned(as: UInt64.self))
        guard declaredSize > 0, declaredSize <= UInt64(mapping.size - 8), declaredSize <= 100_000_000 else {
            throw fail("header size \(declaredSize) does not fit a file of \(mapping.size) bytes")
        }
        let headerSize = Int(declaredSize)
        let header: [(String, JSONValue)]
        do {
            let bytes = [UInt8](UnsafeRawBufferPointer(start: mapping.base + 8, count: headerSize))
            guard let members = try JSONParser.parse(bytes, file: path).objectMembers else { throw fail("header is not a JSON object") }
            header = members
        } catch let error as JSONError {
            switch error.kind {
            case .duplicateKey: throw fail("header\(error.path.isEmpty ? "" : " " + error.field) \(error.reason)")
            case .unreadable, .syntax, .missing, .invalid: throw fail("header is not a JSON object (\(error.reason))")
            }
        }
        dataStart = 8 + headerSize
        let dataSize = mapping.size - dataStart
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value.objectMembers else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v.stringValue else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard value.objectMembers != nil else { throw fail("entry is not an object", name) }
            guard let storedType = value["dtype"]?.stringValue else { throw fail("missing or non-string 'dtype'", name) }
            guard let type = Self.storedTypes[storedType] else { throw fail("unsupported dtype '\(storedType)'", name) }
            guard let rawShape = value["shape"]?.arrayValue else { throw fail("missing or non-array 'shape'", name) }
            var shape: [Int] = []
            for d in rawShape {
                guard let n = d.intValue, n >= 0 else {
                    throw fail("shape [\(rawShape.map(\.shortDescription).joined(separator: ", "))] has an entry that is not a non-negative integer", name)
                }
                shape.append(n)
            }
            guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].intValue, let end = offsets[1].intValue else {
                throw fail("'data_offsets' must be two integers", name)
            }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw fail("data_offsets [\(begin), \(end)] fall outside the \(dataSize)-byte data section", name)
            }
            // Checked products: a shape of [2^62] F32 must not wrap to 0 bytes. Zero dims are
            // counted as 1 here, so that [0, 2^62, 2^62] (no data, but strides that overflow) is
            // refused too.
            var extent = 1
            for d in shape {
                let (r, overflow) = extent.multipliedReportingOverflow(by: Swift.max(d, 1))
                guard !overflow, r <= Self.maximumElements else {
                    throw fail("shape \(shape) has more than \(Self.maximumElements) elements", name)
                }
                extent = r
            }
            let count = shape.contains(0) ? 0 : extent
            let byteCount = count * type.size   // count ≤ 2^48: no overflow
            guard byteCount == end - begin else {
                throw fail("shape \(shape) of \(storedType) needs \(byteCount) bytes but data_offsets give \(end - begin)", name)
            }
            entries[name] = Entry(storedType: storedType, shape: shape, range: begin..<end)
        }
        var position = 0
        for (name, entry) in entries.sorted(by: { ($0.value.range.lowerBound, $0.value.range.upperBound) < ($1.value.range.lowerBound, $1.value.range.upperBound) }) {
            if entry.range.lowerBound < position { throw fail("data overlaps the previous tensor's (starts at \(entry.range.lowerBound), previous ends at \(position))", name) }
            if entry.range.lowerBound > position { throw fail("data starts at \(entry.range.lowerBound) leaving a gap after byte \(position)", name) }
            position = entry.range.upperBound
        }
        if position != dataSize { throw fail("the data section has \(dataSize) bytes but the tensors cover \(position)") }
        self.entries = entries
        self.metadata = metadata
    }

    /// The tensor `name`, converted to its compute dtype (F16/BF16/F64 → float32; I8/I16/U8 → int32)
    /// or to `dtype` when given.
    public func tensor(_ name: String, as dtype: DType? = nil) throws -> Tensor {
        guard let entry = entries[name] else {
            throw SafeTensorsError(path: path, tensor: name, reason: "no such tensor in the file")
        }
        let type = Self.storedTypes[entry.storedType]!
        let source = mapping.base + dataStart + entry.range.lowerBound
        let count = Shape.count(entry.shape)
        let natural: Tensor
        let nativeTypes = ["F32", "I64", "I32", "BOOL"]
        if nativeTypes.contains(entry.storedType) && Int(bitPattern: source) % type.size == 0 {
            let storage = Storage(borrowing: source, byteCount: entry.range.count, owner: mapping)
            natural = Tensor(storage: storage, shape: entry.shape, dtype: type.dtype)
        } else {
            natural = ElementwiseKernels.empty(entry.shape, type.dtype)
            Self.convert(entry.storedType, from: UnsafeRawPointer(source), count: count, into: natural.storage.base)
        }
        guard let dtype, dtype != natural.dtype else { return natural }
        return ElementwiseKernels.cast(natural, to: dtype)
    }

    /// Every tensor in the file, converted as `tensor(_:as:)` does.
    public func tensors(as dtype: DType? = nil) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in entries.keys { out[name] = try tensor(name, as: dtype) }
        return out
    }

    /// Decodes `count` elements of a stored type into the compute dtype's layout.
    static func convert(_ storedType: String, from src: UnsafeRawPointer, count: Int, into dst: UnsafeMutableRawPointer) {
        switch storedType {
        case "F32", "I32", "I64", "BOOL":
            dst.copyMemory(from: src, byteCount: count * storedTypes[storedType]!.size)
        case "F16":
            let o = dst.assumingMemoryBound(to: Float.self)
            for i in 0..<count { o[i] = Float(Float16(bitPattern: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case "BF16":
            let o = dst.assumingMemoryBound(to: Float.self)
            for i in 0..<count { o[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case "F64":
            let o = dst.assumingMemoryBound(to: Float.self)
            for i in 0..<count { o[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case "I16":
            let o = dst.assumingMemoryBound(to: Int32.self)
            for i in 0..<count { o[i] = Int32(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case "I8":
            let o = dst.assumingMemoryBound(to: Int32.self)
            for i in 0..<count { o[i] = Int32(src.load(fromByteOffset: i, as: Int8.self)) }
        case "U8":
            let o = dst.assumingMemoryBound(to: Int32.self)
            for i in 0..<count { o[i] = Int32(src.load(fromByteOffset: i, as: UInt8.self)) }
        default:
            preconditionFailure("safetensors: unhandled stored type \(storedType)")
        }
    }
}

/// Reading and writing whole safetensors files.
public enum SafeTensors {
    /// Every tensor in the file at `path` (floats as float32).
    public static func read(path: String) throws -> [String: Tensor] {
        try SafeTensorsFile(path: path).tensors()
    }

    /// Writes `tensors` (sorted by name, 8-byte-aligned header) to `path`, atomically: the data goes
    /// to a temporary file first and is renamed into place, so a failure never leaves half a file.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        let file = try content(tensors, metadata: metadata)
        do { try writeFilesAtomically([(path: path, content: file)]) } catch {
            throw SafeTensorsError(path: path, tensor: nil, reason: error.reason)
        }
    }

    /// The bytes of a safetensors file holding `tensors` (as `write` writes them).
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        let (header, names) = encodedHeader(tensors, metadata: metadata)
        var file = header
        for name in names {
            let t = ElementwiseKernels.contiguous(tensors[name]!)
            file.append(Data(bytes: t.storage.base + t.offset * t.dtype.byteSize, count: t.count * t.dtype.byteSize))
        }
        return file
    }

    /// The bytes of `encode`, streamed tensor by tensor into the file (`FileSink`): a checkpoint of
    /// hundreds of MB is never copied into one buffer first. A tensor whose bytes are still those of the
    /// safetensors file it was read from (mapped, unchanged, stored as it is computed) is copied from
    /// that file by the kernel (`FileSink.copy`).
    public static func content(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> FileContent {
        let (header, names) = encodedHeader(tensors, metadata: metadata)
        return .stream { sink in
            try header.withUnsafeBytes { raw in Result { () throws(FileWriteError) in try sink.write(raw) } }.get()
            for name in names {
                let t = ElementwiseKernels.contiguous(tensors[name]!)
                let bytes = UnsafeRawBufferPointer(start: t.storage.base + t.offset * t.dtype.byteSize, count: t.count * t.dtype.byteSize)
                if let mapping = t.storage.owner as? FileMapping, let start = bytes.baseAddress,
                   let offset = mapping.unmodifiedOffset(of: start, count: bytes.count) {
                    try sink.copy(from: mapping.descriptor, offset: offset, bytes: bytes)
                } else {
                    try sink.write(bytes)
                }
            }
        }
    }

    /// The length prefix and JSON header for `tensors` (data in sorted name order), and that order.
    private static func encodedHeader(_ tensors: [String: Tensor], metadata: [String: String]) -> (Data, [String]) {
        let names = tensors.keys.sorted()
        var header: [(String, JSONValue)] = []
        if !metadata.isEmpty { header.append(("__metadata__", .object(metadata.map { ($0.key, .string($0.value)) }))) }
        var offset = 0
        for name in names {
            guard let t = tensors[name] else { continue }
            let bytes = t.count * t.dtype.byteSize
            let type = switch t.dtype { case .float32: "F32"; case .int32: "I32"; case .int64: "I64"; case .bool: "BOOL" }
            header.append((name, .object([("dtype", .string(type)), ("shape", .array(t.shape.map { .integer($0) })),
                                          ("data_offsets", .array([.integer(offset), .integer(offset + bytes)]))])))
            offset += bytes
        }
        var json = Data(JSONValue.object(header).serialized(sortedKeys: true))
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        return (file, names)
    }
}

/// Why `writeFileAtomically` failed: the file and the reason.
public struct FileWriteError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Writes `data` to a temporary file beside `path` and renames it into place, so a failure never leaves
/// half a file where `path` was (every artifact TCompile writes goes through here).
public func writeFileAtomically(_ data: Data, to path: String) throws(FileWriteError) {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    do { try FileContent.bytes(data).write(to: temporary.path) } catch { throw FileWriteError(path: path, reason: error.reason) }
    guard replaceFile(temporary.path, path) == 0 else {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: temporary)
        throw FileWriteError(path: path, reason: "cannot rename into place: \(reason)")
    }
}

/// Writes a set of files that belong together (a library, its header and its weights; a model.json
/// and its constants) so that a failure while writing changes none of them: every file is first
/// written whole to a temporary name beside its target, and only when all are written are they
/// renamed into place, one after another. A write that fails (a full disk, a file-size limit, an
/// injected error) removes the temporaries and leaves every old file as it was; a process killed
/// while writing leaves the old set and hidden `.NAME.tmp-PID-N` files. The renames themselves take
/// microseconds but are not one atomic step: a reader between two of them can see new and old files
/// side by side (which is why a library checks its weights' content hash).
public func writeFilesAtomically(_ files: [(path: String, data: Data)]) throws(FileWriteError) {
    try writeFilesAtomically(files.map { ($0.path, FileContent.bytes($0.data)) })
}

/// `writeFilesAtomically` for contents that may be streamed (`FileContent`).
public func writeFilesAtomically(_ files: [(path: String, content: FileContent)]) throws(FileWriteError) {
    var staged: [(temporary: String, path: String)] = []
    func removeStaged() { for s in staged { unlink(s.temporary) } }
    for file in files {
        let url = URL(fileURLWithPath: file.path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        do { try file.content.write(to: temporary) } catch {
            removeStaged()
            throw FileWriteError(path: file.path, reason: error.reason)
        }
        staged.append((temporary, file.path))
    }
    for (i, s) in staged.enumerated() {
        guard replaceFile(s.temporary, s.path) == 0 else {
            let reason = String(cString: strerror(errno))
            for rest in staged[i...] { unlink(rest.temporary) }
            throw FileWriteError(path: s.path, reason: "cannot rename into place: \(reason)")
        }
    }
}

/// Writes the files `names` → bytes as the whole contents of `directory`, switched in at once where
/// the system allows: the files are written into a hidden sibling directory, which then replaces
/// `directory` in one `rename` (when `directory` does not exist) or one `renameat2(RENAME_EXCHANGE)`
/// (when it does), after which the old set is deleted. A reader sees the old set or the new one, never
/// a mix; a failure or a kill before the switch leaves the old set and a hidden `.DIR.tmp-PID-N`.
///
/// Only a directory that holds nothing but files this set may hold (`owned`, and our own hidden
/// temporaries) is replaced this way, so that no other file is lost with the old directory; otherwise
/// (a model.json beside the library, another model's files, a `.gitignore`), when it is the current
/// directory or holds it, and where the exchange is not supported, it falls back to
/// `writeFilesAtomically` on the files in place. Returns whether the directory was switched whole.
@discardableResult
public func writeDirectoryAtomically(_ files: [(name: String, data: Data)], to directory: String, owned: Set<String>) throws(FileWriteError) -> Bool {
    try writeDirectoryAtomically(files.map { ($0.name, FileContent.bytes($0.data)) }, to: directory, owned: owned)
}

/// `writeDirectoryAtomically` for contents that may be streamed (`FileContent`).
@discardableResult
public func writeDirectoryAtomically(_ files: [(name: String, content: FileContent)], to directory: String, owned: Set<String>) throws(FileWriteError) -> Bool {
    let url = URL(fileURLWithPath: directory).standardizedFileURL
    let fallback = { () throws(FileWriteError) -> Bool in
        try writeFilesAtomically(files.map { (url.appendingPathComponent($0.name).path, $0.content) })
        return false
    }
    var info = stat()
    let exists = lstat(url.path, &info) == 0
    // Never swap away the directory this process works in (`cd out && tcompile ../m.json -o .`):
    // its shell would be left in the deleted old one.
    let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.resolvingSymlinksInPath().path
    let target = url.resolvingSymlinksInPath().path
    if exists && (cwd == target || cwd.hasPrefix(target.hasSuffix("/") ? target : target + "/")) { return try fallback() }
    if exists {
        guard (info.st_mode & S_IFMT) == S_IFDIR, let entries = try? FileManager.default.contentsOfDirectory(atPath: url.path),
              entries.allSatisfy({ owned.contains($0) || ($0.hasPrefix(".") && $0.contains(".tmp-")) }),
              renameExchange != nil else { return try fallback() }
    }
    let parent = url.deletingLastPathComponent()
    let staging = parent.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    guard mkdir(staging, exists ? info.st_mode & 0o7777 : 0o755) == 0 else {
        // The parent is not writable or not there: the files in place say why, naming the file.
        return try fallback()
    }
    func removeStaging(_ path: String) { try? FileManager.default.removeItem(atPath: path) }
    for file in files {
        do { try file.content.write(to: URL(fileURLWithPath: staging).appendingPathComponent(file.name).path) } catch {
            removeStaging(staging)
            throw FileWriteError(path: url.appendingPathComponent(file.name).path, reason: error.reason)
        }
    }
    if !exists {
        guard rename(staging, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            removeStaging(staging)
            throw FileWriteError(path: url.path, reason: "cannot rename into place: \(reason)")
        }
        return true
    }
    guard renameExchange!(AT_FDCWD, staging, AT_FDCWD, url.path, 2 /* RENAME_EXCHANGE */) == 0 else {
        removeStaging(staging)   // e.g. a file system without the exchange: write in place instead
        return try fallback()
    }
    removeStaging(staging)   // now the old set
    return true
}

/// Moves the file `temporary` to `path` in one step, as `rename` does (0, or -1 with `errno`). When
/// `path` is a regular file already, the two are exchanged (`renameat2(RENAME_EXCHANGE)`) and the old
/// file, now at `temporary`, is deleted: ext4 writes out a file renamed over another one at once
/// (`auto_da_alloc`, so that a crash cannot leave it empty), which made re-exporting MiniLM into the same
/// folder wait 50 ms for its 91 MB of constants in the page cache; an exchange is not a replacement.
func replaceFile(_ temporary: String, _ path: String) -> Int32 {
    var info = stat()
    if let exchange = renameExchange, lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
       exchange(AT_FDCWD, temporary, AT_FDCWD, path, 2 /* RENAME_EXCHANGE */) == 0 {
        unlink(temporary)
        return 0
    }
    return rename(temporary, path)
}

/// glibc's `renameat2` (not in Swift's Glibc module), looked up once; nil where it is missing.
private let renameExchange = CFunction.named("renameat2",
                                             as: (@convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32).self)
