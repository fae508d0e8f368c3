import Foundation
import Graph
import Tensors

/// `NAME.weights`: the constants of a compiled model in the order its kernel expects, each 64-byte
/// aligned, behind a small header the generated `NAME_create` validates before mapping it.
///
/// Layout (little-endian): bytes 0–3 `TCW2`, 4–7 constant count, 8–15 file size, 16–23 content hash
/// (`contentHash` of every byte from 64 on: the entry table and the data), 24–63 zero; then one 16-byte
/// entry per constant (offset, byte count); then the data.
///
/// The library that wrote the file holds a copy of its first `64 + 16 × count` bytes (hash included),
/// and `NAME_create` requires the file's to be identical: a file of another checkpoint of the same
/// architecture (same sizes, other values) differs in the hash and is refused with its own status
/// (`CAPI.Status.weightsMismatch`).
public enum WeightsFile {
    /// The magic number, `TCW2` read as a little-endian u32 (`TCW1` files had no content hash).
    public static let magic: UInt32 = 0x3257_4354
    /// Bytes before the entry table.
    public static let headerBytes = 64
    /// Where the content hash sits in the header.
    public static let hashOffset = 16

    /// A 64-bit hash of `bytes[start...]` (eight bytes at a time, then the tail; FNV-1a's prime with
    /// a final avalanche). It tells checkpoints apart, it does not resist forgery: whoever can write the
    /// weights file can write any values, which is trusted input (docs/security.md).
    public static func contentHash(_ bytes: [UInt8], from start: Int) -> UInt64 {
        var hasher = ContentHasher()
        bytes.withUnsafeBytes { hasher.add(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        return hasher.finish(fileSize: bytes.count)
    }

    /// `contentHash` fed in pieces: the same value for the same bytes however they are split.
    struct ContentHasher {
        private var h: UInt64 = 0xcbf2_9ce4_8422_2325
        private var pending: UInt64 = 0
        private var pendingCount = 0
        private static let prime: UInt64 = 0x0000_0100_0000_01b3

        private mutating func word(_ w: UInt64) {
            h = (h ^ w) &* Self.prime
            h ^= h >> 29
        }

        mutating func add(_ raw: UnsafeRawBufferPointer) {
            var i = 0
            let n = raw.count
            while pendingCount > 0 && i < n {   // complete a word split across pieces
                pending |= UInt64(raw[i]) << (8 * UInt64(pendingCount))
                pendingCount += 1
                i += 1
                if pendingCount == 8 { word(pending); pending = 0; pendingCount = 0 }
            }
            while i + 8 <= n {
                word(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                i += 8
            }
            while i < n {
                pending |= UInt64(raw[i]) << (8 * UInt64(pendingCount))
                pendingCount += 1
                i += 1
            }
        }

        /// The hash of a file of `fileSize` bytes whose bytes from 64 on were added.
        func finish(fileSize: Int) -> UInt64 {
            var h = self.h
            for b in 0..<pendingCount { h = (h ^ ((pending >> (8 * UInt64(b))) & 0xff)) &* Self.prime }
            h ^= UInt64(truncatingIfNeeded: fileSize)
            h ^= h >> 33; h = h &* 0xff51_afd7_ed55_8ccd; h ^= h >> 33; h = h &* 0xc4ce_b9fe_1a85_ec53; h ^= h >> 33
            return h
        }
    }

    /// The hash stored in a file's header (its bytes 16–23).
    public static func storedHash(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= headerBytes else { return nil }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: hashOffset, as: UInt64.self)) }
    }

    /// The file's bytes for `constants` (row-major, native element types).
    public static func encode(_ constants: [Tensor]) -> [UInt8] {
        Layout(constants.map { ConstantBytes.tensor($0) }).bytes()
    }

    /// Where every constant goes in the file holding `constants`; `write(to:)` streams the file and
    /// hashes it on the way, so each weight is packed into panels once per compile. Nothing of the
    /// file's size is ever held in memory (a packed copy of every weight and the file as one array cost
    /// two fresh buffers of the model's size, the slowest part of a compile).
    struct Layout {
        let constants: [ConstantBytes]
        /// Bytes 0 to the end of the entry table, the content hash still zero (`write` and `bytes` fill it).
        let unhashedHeader: [UInt8]
        let offsets: [Int]
        let fileSize: Int

        /// The size of the file holding `constants` (what `init` computes, without reading them).
        static func fileSize(_ constants: [ConstantBytes]) -> Int { placement(constants.map(\.byteCount)).fileSize }

        /// Where constants of these byte sizes go, in order (each 64-byte aligned after the entry
        /// table), and the file's size: a function of the sizes alone, so the code that reads a weights
        /// file (`CAPI`) knows every offset when it is compiled.
        static func placement(_ byteCounts: [Int]) -> (offsets: [Int], fileSize: Int) {
            var offsets: [Int] = []
            var cursor = (headerBytes + 16 * byteCounts.count + 63) & ~63
            for bytes in byteCounts {
                offsets.append(cursor)
                cursor = (cursor + bytes + 63) & ~63
            }
            return (offsets, cursor)
        }

        init(_ constants: [ConstantBytes]) {
            self.constants = constants
            let tableEnd = headerBytes + 16 * constants.count
            let (offsets, cursor) = Self.placement(constants.map(\.byteCount))
            var header = [UInt8](repeating: 0, count: tableEnd)
            func put<T: FixedWidthInteger>(_ v: T, at i: Int) {
                withUnsafeBytes(of: v.littleEndian) { for (k, b) in $0.enumerated() { header[i + k] = b } }
            }
            put(magic, at: 0)
            put(UInt32(constants.count), at: 4)
            put(UInt64(cursor), at: 8)
            for (i, c) in constants.enumerated() {
                put(UInt64(offsets[i]), at: headerBytes + 16 * i)
                put(UInt64(c.byteCount), at: headerBytes + 16 * i + 8)
            }
            self.unhashedHeader = header
            self.offsets = offsets
            self.fileSize = cursor
        }

        /// Feeds the file's bytes in order to `body` (the header with its hash still zero).
        private func forEachPiece<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
            func feed(_ bytes: [UInt8], count: Int) throws(E) {
                try bytes.withUnsafeBytes { raw in Result { () throws(E) in try body(UnsafeRawBufferPointer(rebasing: raw[0..<count])) } }.get()
            }
            let zeros = [UInt8](repeating: 0, count: 64)
            func pad(_ count: Int) throws(E) { try feed(zeros, count: count) }   // alignment gaps are under 64 bytes
            try feed(unhashedHeader, count: unhashedHeader.count)
            var position = unhashedHeader.count
            for (c, offset) in zip(constants, offsets) {
                try pad(offset - position)
                try c.forEachPiece(body)
                position = offset + c.byteCount
            }
            try pad(fileSize - position)
        }

        /// `unhashedHeader` with `hasher`'s hash (of every byte from `headerBytes` on) in place.
        private func header(_ hasher: ContentHasher) -> [UInt8] {
            var header = unhashedHeader
            withUnsafeBytes(of: hasher.finish(fileSize: fileSize).littleEndian) { for (k, b) in $0.enumerated() { header[hashOffset + k] = b } }
            return header
        }

        /// Streams the file into `sink`, hashing it on the way, and returns its header (hash included),
        /// which it writes over the unhashed one at the end.
        func write(to sink: FileSink) throws(FileWriteError) -> [UInt8] {
            let start = sink.count
            var hasher = ContentHasher()
            var position = 0
            try forEachPiece { (piece) throws(FileWriteError) in
                try sink.write(piece)
                // The hash covers the bytes from `headerBytes` on.
                let skip = max(0, min(piece.count, headerBytes - position))
                hasher.add(UnsafeRawBufferPointer(rebasing: piece[skip...]))
                position += piece.count
            }
            let header = header(hasher)
            try sink.overwrite(Array(header[hashOffset..<(hashOffset + 8)]), at: start + hashOffset)
            return header
        }

        /// The whole file in memory (for weights embedded in the library), hash included.
        func bytes() -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(fileSize)
            forEachPiece { bytes.append(contentsOf: $0) }
            var hasher = ContentHasher()
            bytes.withUnsafeBytes { hasher.add(UnsafeRawBufferPointer(rebasing: $0[headerBytes...])) }
            let header = header(hasher)
            bytes.replaceSubrange(0..<header.count, with: header)
            return bytes
        }
    }
}

/// One constant's bytes in the order the kernel reads them, produced in pieces: a tensor's own memory,
/// or a weight packed into panels one panel at a time (`PanelLayout.forEachPanel`).
enum ConstantBytes {
    /// A tensor's elements, row-major.
    case tensor(Tensor)
    /// A `[k, n]` float matrix in panels of a format (`PanelLayout.Format`).
    case panels(Tensor, PanelLayout.Format)

    var byteCount: Int {
        switch self {
        case .tensor(let t): t.count * t.dtype.byteSize
        case .panels(let m, let format): PanelLayout.packedByteCount(m.shape, format: format)
        }
    }

    /// Calls `body` with every piece in order.
    func forEachPiece<E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) {
        switch self {
        case .tensor(let tensor):
            let t = tensor.contiguous()
            try body(UnsafeRawBufferPointer(start: t.storage.base + t.offset * t.dtype.byteSize, count: t.count * t.dtype.byteSize))
        case .panels(let matrix, let format):
            try PanelLayout.forEachPanel(of: matrix, format: format, body)
        }
    }
}

/// A GNU `ar` archive (static library) holding objects, with the symbol index linkers need.
enum StaticArchive {
    /// The archive bytes of one object.
    static func make(objectName: String, object: [UInt8], symbols: [String]) -> [UInt8] {
        make([(objectName, object, symbols)])
    }

    /// The archive bytes: deterministic (zero timestamps and ids); each member's symbols point at it.
    static func make(_ members: [(name: String, object: [UInt8], symbols: [String])]) -> [UInt8] {
        func header(_ name: String, size: Int) -> [UInt8] {
            func field(_ s: String, _ width: Int) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
            let text = field(name, 16) + field("0", 12) + field("0", 6) + field("0", 6) + field("644", 8) + field(String(size), 10) + "`\n"
            return Array(text.utf8)
        }
        let symbols = members.flatMap(\.symbols)
        let names: [UInt8] = symbols.flatMap { Array($0.utf8) + [UInt8(0)] }
        let indexSize = 4 + 4 * symbols.count + names.count
        let indexPadded = indexSize + indexSize % 2
        var memberOffsets: [Int] = []
        var cursor = 8 + 60 + indexPadded
        for member in members {
            memberOffsets.append(cursor)
            cursor += 60 + member.object.count + member.object.count % 2
        }
        var out = Array("!<arch>\n".utf8)
        out += header("/", size: indexSize)
        func be32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).bigEndian) { Array($0) } }
        out += be32(symbols.count)
        for (member, offset) in zip(members, memberOffsets) { for _ in member.symbols { out += be32(offset) } }
        out += names
        if indexSize % 2 == 1 { out.append(0x0A) }
        for member in members {
            out += header(member.name + "/", size: member.object.count)
            out += member.object
            if member.object.count % 2 == 1 { out.append(0x0A) }
        }
        return out
    }
}
