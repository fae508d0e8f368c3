import Foundation
import Locks

/// Addresses of loaded code → the source line the compiler recorded for them, read once per ELF file
/// from its `.debug_line` section (DWARF 2–5) into one sorted table, so that each lookup is a binary
/// search.
///
/// Why: `SourceLocator` used only the Swift runtime's symbolication, which runs a compile unit's whole
/// line program for every new address (a release build has one unit per module), and tracing GPT-2's
/// two generation graphs spent about a second there. The table gives the innermost line of an address,
/// which is the runtime's first (innermost inlined) frame; `SourceLocator` still asks the runtime
/// whenever that line is the library's own or missing, so inlining is handled exactly as before.
/// Anything unexpected in the file (compressed sections, an unknown form) makes the table empty and
/// every lookup fall back.
enum DWARFLineTable {
    /// One file's rows: start addresses (link-time), their lines and file names, sorted by address;
    /// a row with line 0 ends a sequence.
    private struct Table {
        var addresses: [UInt64] = []
        var lines: [UInt32] = []
        var files: [UInt32] = []
        var paths: [String] = []
        /// Load address minus link-time address.
        var bias: UInt64 = 0
        /// Function symbols (`.symtab`): start addresses sorted, ends, and whether each is a function
        /// of the modules `libraryModules` names.
        var functionStarts: [UInt64] = []
        var functionEnds: [UInt64] = []
        var functionIsLibrary: [Bool] = []
    }

    /// Mangled-name prefixes of the modules whose functions `SourceLocator` skips (`Tensors`, `Graph`).
    static let libraryModules = ["$s7Tensors", "$s5Graph"]

    private static let tables = LockedValue<[String: Table]>([:])

    /// What a lookup found.
    enum Lookup {
        /// The innermost source line of the address, and whether the function holding it (by the symbol
        /// table) belongs to one of `libraryModules` (nil when no symbol covers it).
        case line(path: String, line: Int, inLibraryFunction: Bool?)
        /// The address lies in a loaded file without a line table (a system library without debug
        /// information), where the runtime's symbolication finds no line either.
        case fileWithoutLines
        /// No loaded file holds it, or no row of its table covers it.
        case unknown
    }

    /// The table of the loaded file holding `address` (read on first use), or nil when no file holds it.
    private static func table(containing address: UInt64) -> Table? {
        guard let pointer = UnsafeRawPointer(bitPattern: UInt(address)), let (name, base) = loadedObject(containing: pointer) else { return nil }
        let file = name.isEmpty || !FileManager.default.fileExists(atPath: name) ? "/proc/self/exe" : name
        let key = file + "@" + String(base)
        return tables.withLock { tables in
            if let t = tables[key] { return t }
            let t = load(file, loadBase: base)
            tables[key] = t
            return t
        }
    }

    /// What the line table says of the instruction at `address` (a return address minus one).
    static func lookup(_ address: UInt64) -> Lookup {
        guard let table = table(containing: address) else { return .unknown }
        if table.addresses.isEmpty { return .fileWithoutLines }
        guard address >= table.bias else { return .unknown }
        let target = address &- table.bias
        // The last row starting at or before the target.
        var low = 0, high = table.addresses.count
        while low < high {
            let mid = (low + high) / 2
            if table.addresses[mid] <= target { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return .unknown }
        let row = low - 1
        let line = table.lines[row]
        guard line > 0, Int(table.files[row]) < table.paths.count else { return .unknown }
        var library: Bool?
        var lo = 0, hi = table.functionStarts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if table.functionStarts[mid] <= target { lo = mid + 1 } else { hi = mid }
        }
        if lo > 0, target < table.functionEnds[lo - 1] { library = table.functionIsLibrary[lo - 1] }
        return .line(path: table.paths[Int(table.files[row])], line: Int(line), inLibraryFunction: library)
    }

    /// Reads `path`'s line table; empty when the file cannot be read or parsed.
    private static func load(_ path: String, loadBase: UInt64) -> Table {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return Table() }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0,
              let mapped = mmap(nil, Int(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else { return Table() }
        defer { munmap(mapped, Int(info.st_size)) }
        do {
            let raw = UnsafeRawBufferPointer(start: mapped, count: Int(info.st_size))
            var table = Table()
            guard let elf = ELFSections(raw), let lines = elf.section(".debug_line") else { return Table() }
            table.bias = loadBase &- elf.lowestLoadAddress
            let lineStrings = elf.section(".debug_line_str"), strings = elf.section(".debug_str")
            var rows: [(address: UInt64, line: UInt32, file: UInt32)] = []
            var pathIndex: [String: UInt32] = [:]
            var offset = 0
            while offset < lines.count {
                guard let next = parseUnit(lines, at: offset, lineStrings: lineStrings, strings: strings, into: &rows,
                                           paths: &table.paths, pathIndex: &pathIndex) else { return Table() }
                offset = next
            }
            // By address; at one address, a sequence's end first, then rows in the order the program gave them
            // (the last one applies).
            let order = rows.indices.sorted { a, b in
                let x = rows[a], y = rows[b]
                if x.address != y.address { return x.address < y.address }
                if (x.line == 0) != (y.line == 0) { return x.line == 0 }
                return a < b
            }
            var functions = elf.functions(prefixes: libraryModules)
            functions.sort { $0.start < $1.start }
            table.functionStarts = functions.map(\.start)
            table.functionEnds = functions.map(\.end)
            table.functionIsLibrary = functions.map(\.library)
            table.addresses = order.map { rows[$0].address }
            table.lines = order.map { rows[$0].line }
            table.files = order.map { rows[$0].file }
            return table
        }
    }

    /// Runs the line program of the unit at `start`, appending its rows; returns the next unit's offset.
    private static func parseUnit(_ s: UnsafeRawBufferPointer, at start: Int, lineStrings: UnsafeRawBufferPointer?,
                                  strings: UnsafeRawBufferPointer?, into rows: inout [(address: UInt64, line: UInt32, file: UInt32)],
                                  paths: inout [String], pathIndex: inout [String: UInt32]) -> Int? {
        var r = ByteReader(s, at: start)
        guard var length = r.u32().map(UInt64.init) else { return nil }
        var offsetSize = 4
        if length == 0xffff_ffff { guard let l = r.u64() else { return nil }; length = l; offsetSize = 8 }
        let end = r.position + Int(length)
        guard end <= s.count, let version = r.u16(), (2...5).contains(version) else { return nil }
        var addressSize = 8
        if version >= 5 {
            guard let a = r.u8(), r.u8() != nil else { return nil }
            addressSize = Int(a)
        }
        guard let headerLength = offsetSize == 8 ? r.u64() : r.u32().map(UInt64.init) else { return nil }
        let programStart = r.position + Int(headerLength)
        guard let minimumLength = r.u8() else { return nil }
        if version >= 4 { guard r.u8() != nil else { return nil } }
        guard let defaultIsStmt = r.u8(), let lineBase = r.u8().map({ Int8(bitPattern: $0) }), let lineRange = r.u8(),
              let opcodeBase = r.u8(), lineRange > 0, opcodeBase > 0 else { return nil }
        _ = defaultIsStmt
        var argumentCounts: [Int] = [0]
        for _ in 1..<Int(opcodeBase) { guard let n = r.u8() else { return nil }; argumentCounts.append(Int(n)) }

        // The unit's directories and files (index 0 is the first file in DWARF 5, unused before).
        var directories: [String] = []
        var files: [String] = []
        func join(_ directory: String, _ name: String) -> String {
            name.hasPrefix("/") || directory.isEmpty ? name : directory + "/" + name
        }
        if version >= 5 {
            func entries(_ handle: (Int, String, Int) -> Void) -> Bool {
                guard let formatCount = r.u8() else { return false }
                var format: [(type: UInt64, form: UInt64)] = []
                for _ in 0..<formatCount {
                    guard let type = r.uleb(), let form = r.uleb() else { return false }
                    format.append((type, form))
                }
                guard let count = r.uleb() else { return false }
                for i in 0..<Int(count) {
                    var path = "", directory = 0
                    for f in format {
                        guard let value = r.form(f.form, offsetSize: offsetSize, lineStrings: lineStrings, strings: strings) else { return false }
                        if f.type == 1, case .string(let text) = value { path = text }
                        if f.type == 2, case .number(let n) = value { directory = Int(n) }
                    }
                    handle(i, path, directory)
                }
                return true
            }
            guard entries({ _, path, _ in directories.append(path) }) else { return nil }
            guard entries({ _, path, directory in
                files.append(join(directory < directories.count ? directories[directory] : "", path))
            }) else { return nil }
        } else {
            directories.append("")   // the compilation directory, which the line header does not name
            while let text = r.cString(), !text.isEmpty { directories.append(text) }
            files.append("")
            while let name = r.cString(), !name.isEmpty {
                guard let directory = r.uleb(), r.uleb() != nil, r.uleb() != nil else { return nil }
                files.append(join(Int(directory) < directories.count ? directories[Int(directory)] : "", name))
            }
        }
        let fileIDs = files.map { path -> UInt32 in
            if let id = pathIndex[path] { return id }
            let id = UInt32(paths.count)
            paths.append(path)
            pathIndex[path] = id
            return id
        }

        // The line program.
        r.position = programStart
        var address: UInt64 = 0, file = 1, line = 1
        func emit(_ line: Int) {
            let id = file < fileIDs.count ? fileIDs[file] : UInt32.max
            rows.append((address, UInt32(clamping: max(line, 0)), id))
        }
        while r.position < end {
            guard let opcode = r.u8() else { return nil }
            if opcode >= opcodeBase {
                let adjusted = Int(opcode - opcodeBase)
                address &+= UInt64(adjusted / Int(lineRange)) &* UInt64(minimumLength)
                line += Int(lineBase) + adjusted % Int(lineRange)
                emit(line)
                continue
            }
            switch opcode {
            case 0:
                guard let size = r.uleb(), size > 0, let sub = r.u8() else { return nil }
                let next = r.position + Int(size) - 1
                switch sub {
                case 1:   // end_sequence: a row of line 0 stops the previous rows at this address
                    emit(0)
                    address = 0; file = 1; line = 1
                case 2:
                    guard let a = addressSize == 8 ? r.u64() : r.u32().map(UInt64.init) else { return nil }
                    address = a
                default: break
                }
                r.position = next
            case 1: emit(line)
            case 2: guard let n = r.uleb() else { return nil }; address &+= n &* UInt64(minimumLength)
            case 3: guard let n = r.sleb() else { return nil }; line += Int(n)
            case 4: guard let n = r.uleb() else { return nil }; file = Int(truncatingIfNeeded: n)
            case 8: address &+= UInt64((255 - Int(opcodeBase)) / Int(lineRange)) &* UInt64(minimumLength)
            case 9: guard let n = r.u16() else { return nil }; address &+= UInt64(n)
            default:
                for _ in 0..<(Int(opcode) < argumentCounts.count ? argumentCounts[Int(opcode)] : 0) {
                    guard r.uleb() != nil else { return nil }
                }
            }
        }
        return end
    }
}

/// glibc's `dladdr` (declared only with `_GNU_SOURCE`), looked up once; nil where it is missing. Its
/// `Dl_info` is four pointers: file name, file base, symbol name, symbol address.
nonisolated(unsafe) private let dladdrFunction: (@convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "dladdr") else { return nil }   // RTLD_DEFAULT
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Int32).self)
}()

/// The file holding `address` and where it is loaded.
private func loadedObject(containing address: UnsafeRawPointer) -> (file: String, base: UInt64)? {
    guard let dladdrFunction else { return nil }
    var info: (UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?) = (nil, nil, nil, nil)
    let found = withUnsafeMutableBytes(of: &info) { dladdrFunction(address, $0.baseAddress) }
    guard found != 0, let base = info.1 else { return nil }
    let name = info.0.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
    return (name, UInt64(UInt(bitPattern: base)))
}

/// The sections and lowest load address of an ELF64 little-endian file in memory.
private struct ELFSections {
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

    /// The function symbols of `.symtab` (link-time ranges), each marked when its name starts with one of
    /// `prefixes`.
    func functions(prefixes: [String]) -> [(start: UInt64, end: UInt64, library: Bool)] {
        guard let symbols = sections[".symtab"], symbols.link < sectionOffsets.count else { return [] }
        let names = sectionOffsets[symbols.link]
        let prefixBytes = prefixes.map { Array($0.utf8) }
        var result: [(start: UInt64, end: UInt64, library: Bool)] = []
        var i = symbols.offset
        while i + 24 <= symbols.offset + symbols.size {
            var r = ByteReader(bytes, at: i)
            i += 24
            guard let name = r.u32(), let info = r.u8(), r.u8() != nil, r.u16() != nil, let value = r.u64(), let size = r.u64(),
                  info & 0xf == 2, size > 0, Int(name) < names.size else { continue }   // STT_FUNC
            let start = names.offset + Int(name)
            let library = prefixBytes.contains { p in
                start + p.count <= bytes.count && p.indices.allSatisfy { bytes[start + $0] == p[$0] }
            }
            result.append((value, value &+ size, library))
        }
        return result
    }
}

/// Little-endian reads that return nil past the end.
private struct ByteReader {
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
