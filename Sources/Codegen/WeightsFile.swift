import Foundation
import Tensors

/// `NAME.weights`: the constants of a compiled model in the order its kernel expects, each 64-byte
/// aligned, behind a small header the generated `NAME_create` validates before mapping it.
///
/// Layout (little-endian): bytes 0–3 `TCW1`, 4–7 constant count, 8–15 file size, 16–63 zero; then one
/// 16-byte entry per constant (offset, byte count); then the data.
public enum WeightsFile {
    /// The magic number, `TCW1` read as a little-endian u32.
    public static let magic: UInt32 = 0x3157_4354
    /// Bytes before the entry table.
    public static let headerBytes = 64

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
