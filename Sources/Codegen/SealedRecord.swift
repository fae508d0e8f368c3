/// The byte format of the files TCompile keeps in its cache folder (compile-cache entries, up-to-date
/// records): a magic string, then fields (every number and length a little-endian UInt64, byte strings
/// length-prefixed), then the 32-hex-digit `EntryHash` of all of it, so that a truncated or corrupted
/// file reads as absent instead of as a wrong value.
struct SealedRecordWriter {
    private(set) var bytes: [UInt8]

    /// A record starting with `magic`.
    init(magic: [UInt8]) { bytes = magic }

    mutating func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { bytes += $0 } }
    mutating func byte(_ v: UInt8) { bytes.append(v) }
    mutating func data(_ b: [UInt8]) { u64(b.count); bytes += b }
    mutating func string(_ s: String) { data(Array(s.utf8)) }

    /// The record followed by its checksum.
    func sealed() -> [UInt8] {
        var hasher = EntryHash()
        hasher.add(bytes)
        return bytes + Array(hasher.hex.utf8)
    }
}

/// Reads a `SealedRecordWriter` record field by field; every read returns nil past the end.
struct SealedRecordReader {
    private let body: ArraySlice<UInt8>
    private var offset: Int

    /// The reader of `data` when it starts with `magic` and its checksum matches; nil otherwise.
    init?(_ data: [UInt8], magic: [UInt8]) {
        guard data.count > magic.count + 32, data.starts(with: magic) else { return nil }
        body = data[..<(data.count - 32)]
        var hasher = EntryHash()
        hasher.add(Array(body))
        guard Array(hasher.hex.utf8) == Array(data[(data.count - 32)...]) else { return nil }
        offset = magic.count
    }

    /// Whether every field was read.
    var atEnd: Bool { offset == body.count }

    /// The bytes left: a bound for counts read from the record (a count above it is corrupt).
    var remaining: Int { body.count - offset }

    mutating func u64() -> Int? {
        guard body.count - offset >= 8 else { return nil }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(body[body.startIndex + offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return v <= UInt64(Int.max) ? Int(v) : nil
    }

    /// A count of items that each take at least one byte (nil when the record cannot hold that many).
    mutating func count() -> Int? {
        guard let n = u64(), n <= remaining else { return nil }
        return n
    }

    mutating func byte() -> UInt8? {
        guard offset < body.count else { return nil }
        defer { offset += 1 }
        return body[body.startIndex + offset]
    }

    mutating func data() -> [UInt8]? {
        guard let n = u64(), n <= body.count - offset else { return nil }
        defer { offset += n }
        return Array(body[(body.startIndex + offset)..<(body.startIndex + offset + n)])
    }

    mutating func string() -> String? { data().flatMap { String(validating: $0, as: UTF8.self) } }
}
