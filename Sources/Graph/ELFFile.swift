import Foundation

/// The sections and lowest load address of an ELF64 little-endian file in memory.
struct ELFSections {
    let bytes: UnsafeRawBufferPointer
    var sections: [String: (offset: Int, size: Int, link: Int)] = [:]
    var sectionOffsets: [(offset: Int, size: Int)] = []
    var lowestLoadAddress: UInt64 = 0

    init?(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        guard bytes.count >= 64, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46,
              bytes[4] == 2, bytes[5] == 1 else { return nil }
        var r = ByteReader(bytes, at: 0x20)
        guard let programHeaders = r.u64(), let sectionHeaders = r.u64() else { return nil }
        r.position = 0x36
        guard let programSize = r.u16(), let programCount = r.u16(), let sectionSize = r.u16(), let sectionCount = r.u16(),
              let namesIndex = r.u16() else { return nil }
        var lowest = UInt64.max
        for i in 0..<Int(programCount) {
            var p = ByteReader(bytes, at: Int(programHeaders) + i * Int(programSize))
            guard let type = p.u32() else { return nil }
            p.position += 12
            guard let vaddr = p.u64() else { return nil }
            if type == 1 { lowest = min(lowest, vaddr & ~0xfff) }   // PT_LOAD
        }
        lowestLoadAddress = lowest == .max ? 0 : lowest
        func header(_ i: Int) -> (name: UInt32, flags: UInt64, offset: Int, size: Int, link: Int)? {
            var h = ByteReader(bytes, at: Int(sectionHeaders) + i * Int(sectionSize))
            guard let name = h.u32(), h.u32() != nil, let flags = h.u64(), h.u64() != nil, let offset = h.u64(),
                  let size = h.u64(), let link = h.u32(), offset <= UInt64(bytes.count), size <= UInt64(bytes.count) - offset else { return nil }
            return (name, flags, Int(offset), Int(size), Int(link))
        }
        guard Int(namesIndex) < Int(sectionCount), let names = header(Int(namesIndex)) else { return nil }
        for i in 0..<Int(sectionCount) {
            guard let h = header(i) else { sectionOffsets.append((0, 0)); continue }
            sectionOffsets.append((h.offset, h.size))
            guard Int(h.name) < names.size else { continue }
            var n = ByteReader(bytes, at: names.offset + Int(h.name))
            guard let name = n.cString(), h.flags & 0x800 == 0 else { continue }   // SHF_COMPRESSED: not read
            sections[name] = (h.offset, h.size, h.link)
        }
    }

    func section(_ name: String) -> UnsafeRawBufferPointer? {
        guard let s = sections[name] else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[s.offset..<(s.offset + s.size)])
    }
}

/// Little-endian reads that return nil past the end.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, at position: Int) {
        self.bytes = bytes
        self.position = position
    }

    enum Value { case number(UInt64), string(String), skipped }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard position >= 0, position <= bytes.count - size else { return nil }
        defer { position += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
    }

    mutating func u8() -> UInt8? { fixed(UInt8.self) }
    mutating func u16() -> UInt16? { fixed(UInt16.self) }
    mutating func u32() -> UInt32? { fixed(UInt32.self) }
    mutating func u64() -> UInt64? { fixed(UInt64.self) }

    mutating func uleb() -> UInt64? {
        var result: UInt64 = 0, shift: UInt64 = 0
        while let byte = u8() {
            if shift < 64 { result |= UInt64(byte & 0x7f) << shift }
            shift += 7
            if byte & 0x80 == 0 { return result }
        }
        return nil
    }

    mutating func sleb() -> Int64? {
        var result: Int64 = 0, shift: Int64 = 0
        while let byte = u8() {
            if shift < 64 { result |= Int64(byte & 0x7f) << shift }
            shift += 7
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 { result |= -(Int64(1) << shift) }
                return result
            }
        }
        return nil
    }

    mutating func cString() -> String? {
        guard position >= 0, position < bytes.count else { return nil }
        var end = position
        while end < bytes.count && bytes[end] != 0 { end += 1 }
        guard end < bytes.count else { return nil }
        defer { position = end + 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
    }

    /// One attribute value of DWARF 5's directory and file tables.
    mutating func form(_ form: UInt64, offsetSize: Int, lineStrings: UnsafeRawBufferPointer?, strings: UnsafeRawBufferPointer?) -> Value? {
        func string(in section: UnsafeRawBufferPointer?) -> Value? {
            guard let o = offsetSize == 8 ? u64() : u32().map(UInt64.init) else { return nil }
            guard let section, o < UInt64(section.count) else { return .string("") }
            var s = ByteReader(section, at: Int(o))
            return s.cString().map(Value.string)
        }
        switch form {
        case 0x08: return cString().map(Value.string)            // string
        case 0x1f: return string(in: lineStrings)                 // line_strp
        case 0x0e: return string(in: strings)                     // strp
        case 0x0f: return uleb().map(Value.number)                // udata
        case 0x0b: return u8().map { .number(UInt64($0)) }        // data1
        case 0x05: return u16().map { .number(UInt64($0)) }       // data2
        case 0x06: return u32().map { .number(UInt64($0)) }       // data4
        case 0x07: return u64().map(Value.number)                 // data8
        case 0x1e: position += 16; return position <= bytes.count ? .skipped : nil   // data16 (MD5)
        case 0x09:                                                // block
            guard let n = uleb(), n <= UInt64(bytes.count) else { return nil }
            position += Int(n)
            return position <= bytes.count ? .skipped : nil
        default: return nil
        }
    }
}
