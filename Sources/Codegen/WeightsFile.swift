import Foundation
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
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01b3
        bytes.withUnsafeBytes { raw in
            let n = raw.count - start
            var i = 0
            while i + 8 <= n {
                let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + i, as: UInt64.self))
                h = (h ^ w) &* prime
                h ^= h >> 29
                i += 8
            }
            while i < n { h = (h ^ UInt64(raw[start + i])) &* prime; i += 1 }
        }
        h ^= UInt64(truncatingIfNeeded: bytes.count)
        h ^= h >> 33; h = h &* 0xff51_afd7_ed55_8ccd; h ^= h >> 33; h = h &* 0xc4ce_b9fe_1a85_ec53; h ^= h >> 33
        return h
    }

    /// The hash stored in a file's header (its bytes 16–23).
    public static func storedHash(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= headerBytes else { return nil }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: hashOffset, as: UInt64.self)) }
    }

    /// The file's bytes for `constants` (row-major, native element types).
    public static func encode(_ constants: [Tensor]) -> [UInt8] {
        let tableEnd = headerBytes + 16 * constants.count
        var offsets: [Int] = []
        var cursor = (tableEnd + 63) & ~63
        for t in constants {
            offsets.append(cursor)
            cursor = (cursor + t.count * t.dtype.byteSize + 63) & ~63
        }
        var bytes = [UInt8](repeating: 0, count: cursor)
        func put<T: FixedWidthInteger>(_ v: T, at i: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (k, b) in $0.enumerated() { bytes[i + k] = b } }
        }
        put(magic, at: 0)
        put(UInt32(constants.count), at: 4)
        put(UInt64(cursor), at: 8)
        for (i, t) in constants.enumerated() {
            let size = t.count * t.dtype.byteSize
            put(UInt64(offsets[i]), at: headerBytes + 16 * i)
            put(UInt64(size), at: headerBytes + 16 * i + 8)
            let c = t.contiguous()
            bytes.withUnsafeMutableBytes { dst in
                dst.baseAddress!.advanced(by: offsets[i]).copyMemory(from: c.storage.base + c.offset * c.dtype.byteSize, byteCount: size)
            }
        }
        put(contentHash(bytes, from: headerBytes), at: hashOffset)
        return bytes
    }
}

/// A GNU `ar` archive (static library) holding one object, with the symbol index linkers need.
enum StaticArchive {
    /// The archive bytes: deterministic (zero timestamps and ids).
    static func make(objectName: String, object: [UInt8], symbols: [String]) -> [UInt8] {
        func header(_ name: String, size: Int) -> [UInt8] {
            func field(_ s: String, _ width: Int) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
            let text = field(name, 16) + field("0", 12) + field("0", 6) + field("0", 6) + field("644", 8) + field(String(size), 10) + "`\n"
            return Array(text.utf8)
        }
        let names: [UInt8] = symbols.flatMap { Array($0.utf8) + [UInt8(0)] }
        let indexSize = 4 + 4 * symbols.count + names.count
        let indexPadded = indexSize + indexSize % 2
        let objectOffset = 8 + 60 + indexPadded
        var out = Array("!<arch>\n".utf8)
        out += header("/", size: indexSize)
        func be32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).bigEndian) { Array($0) } }
        out += be32(symbols.count)
        for _ in symbols { out += be32(objectOffset) }
        out += names
        if indexSize % 2 == 1 { out.append(0x0A) }
        out += header(objectName + "/", size: object.count)
        out += object
        if object.count % 2 == 1 { out.append(0x0A) }
        return out
    }
}
