import Foundation
import Locks
import Tensors

/// Addresses of loaded code → the source lines the compiler recorded for them: the innermost line, read
/// once per ELF file from its `.debug_line` section (DWARF 2–5) into one sorted table, so that each
/// lookup is a binary search; then the call site of every inlined function around the address, outward,
/// from `.debug_info` (`DWARFInlinedCalls`).
///
/// Why: `SourceLocator` used the Swift runtime's symbolication, which runs a compile unit's whole line
/// program for every new address (a release build has one unit per module), and whose image map reads
/// the first bytes of every mapped file straight from memory: a segmentation fault when another thread
/// unmaps a file at that moment, as the parallel tests do. This reads the files from disk, found with
/// `dladdr`. Anything unexpected in a file (compressed sections, an unknown form) leaves its table or a
/// unit's inlined calls empty, and the lookup answers with what remains.
enum DWARFLineTable {
    /// One loaded file's line rows and inlined calls; the file stays mapped for the units read later.
    private final class LoadedFile: @unchecked Sendable {
        /// Start addresses (link-time), their lines and file names, sorted by address; a row with line
        /// `endOfSequence` covers nothing (a row with line 0 is code the compiler gave no line).
        var addresses: [UInt64] = []
        var lines: [UInt32] = []
        var files: [UInt32] = []
        var paths: [String] = []
        /// Load address minus link-time address.
        var bias: UInt64 = 0
        /// Each line program's file numbers → `paths` indices, by the program's offset in `.debug_line`.
        var unitFiles: [Int: [UInt32]] = [:]
        var inlined: DWARFInlinedCalls?
        /// The inlined calls of the units read so far, by unit index.
        let unitCalls = LockedValue<[Int: DWARFInlinedCalls.UnitCalls]>([:])
    }

    /// The line of a row that ends a sequence.
    private static let endOfSequence = UInt32.max

    private static let loaded = LockedValue<[String: LoadedFile]>([:])

    /// What a lookup found.
    enum Lookup {
        /// The source lines of the address, innermost first: the line table's row (line 0 where the compiler
        /// recorded none), then the call site of each inlined function holding it, outward.
        case lines([(path: String, line: Int)])
        /// The address lies in a loaded file without a line table (a system library without debug
        /// information).
        case fileWithoutLines
        /// No loaded file holds it, or no row of its table covers it.
        case unknown
    }

    /// The loaded file holding `address` (read on first use), or nil when no file holds it.
    private static func file(containing address: UInt64) -> LoadedFile? {
        guard let pointer = UnsafeRawPointer(bitPattern: UInt(address)), let (name, base) = loadedObject(containing: pointer) else { return nil }
        let path = name.isEmpty || !FileManager.default.fileExists(atPath: name) ? "/proc/self/exe" : name
        return file(path, loadBase: base)
    }

    private static func file(_ path: String, loadBase: UInt64) -> LoadedFile {
        let key = path + "@" + String(loadBase)
        return loaded.withLock { loaded in
            if let f = loaded[key] { return f }
            let f = load(path, loadBase: loadBase)
            loaded[key] = f
            return f
        }
    }

    /// What the line table and inlined calls say of the instruction at `address` (a return address minus one).
    static func lookup(_ address: UInt64) -> Lookup {
        guard let file = file(containing: address) else { return .unknown }
        return lookup(address, in: file)
    }

    /// For tests: the lookup of link-time `address` in the ELF file at `path`, as if it were loaded at its
    /// link-time addresses.
    static func lookup(linkTimeAddress address: UInt64, inFile path: String) -> Lookup {
        lookup(address, in: file(path, loadBase: 0))
    }

    /// For tests: up to `limit` link-time addresses where inlined calls start in the ELF file at `path`,
    /// and every `stride`-th row address of its line table.
    static func sampleAddresses(inFile path: String, inlinedLimit limit: Int, rowStride stride: Int) -> (inlined: [UInt64], rows: [UInt64]) {
        let file = file(path, loadBase: 0)
        var inlined: [UInt64] = []
        if let calls = file.inlined {
            for unit in calls.units.indices where inlined.count < limit {
                let program = calls.units[unit].lineProgram
                let found = calls.calls(inUnit: unit, files: program.flatMap { file.unitFiles[$0] } ?? [])
                inlined += found.calls.prefix(limit - inlined.count).map(\.low)
            }
        }
        let rows = Swift.stride(from: 0, to: file.addresses.count, by: max(1, stride)).map { file.addresses[$0] }
        return (inlined, rows)
    }

    private static func lookup(_ address: UInt64, in file: LoadedFile) -> Lookup {
        if file.addresses.isEmpty { return .fileWithoutLines }
        guard address >= file.bias else { return .unknown }
        let target = address &- file.bias
        // The last row starting at or before the target.
        var low = 0, high = file.addresses.count
        while low < high {
            let mid = (low + high) / 2
            if file.addresses[mid] <= target { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return .unknown }
        let row = low - 1
        func path(_ id: UInt32) -> String { Int(id) < file.paths.count ? file.paths[Int(id)] : "" }
        guard file.lines[row] != endOfSequence else { return .unknown }
        var result = [(path: path(file.files[row]), line: Int(file.lines[row]))]
        if let inlined = file.inlined {
            for unit in inlined.units(containing: target) {
                let calls = file.unitCalls.withLock { cache in
                    if let c = cache[unit] { return c }
                    let program = inlined.units[unit].lineProgram
                    let c = inlined.calls(inUnit: unit, files: program.flatMap { file.unitFiles[$0] } ?? [])
                    cache[unit] = c
                    return c
                }
                result += calls.containing(target).map { (path($0.file), Int($0.line)) }
            }
        }
        return .lines(result)
    }

    /// Reads `path`'s line table and indexes its units; empty when the file cannot be read or parsed.
    private static func load(_ path: String, loadBase: UInt64) -> LoadedFile {
        let file = LoadedFile()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return file }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0,
              let mapped = mmap(nil, Int(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else { return file }
        // Stays mapped: the inlined calls of a unit are read when an address in it is first looked up.
        let raw = UnsafeRawBufferPointer(start: mapped, count: Int(info.st_size))
        guard let elf = ELFSections(raw), let lines = elf.section(".debug_line") else {
            munmap(mapped, Int(info.st_size))
            return file
        }
        file.bias = loadBase &- elf.lowestLoadAddress
        let lineStrings = elf.section(".debug_line_str"), strings = elf.section(".debug_str")
        file.inlined = DWARFInlinedCalls(elf)
        let compilationDirectories = file.inlined?.compilationDirectories ?? [:]
        var rows: [(address: UInt64, line: UInt32, file: UInt32)] = []
        var pathIndex: [String: UInt32] = [:]
        var offset = 0
        while offset < lines.count {
            guard let next = parseUnit(lines, at: offset, compilationDirectory: compilationDirectories[offset] ?? "",
                                       lineStrings: lineStrings, strings: strings, into: &rows,
                                       paths: &file.paths, pathIndex: &pathIndex, unitFiles: &file.unitFiles) else {
                munmap(mapped, Int(info.st_size))
                return LoadedFile()
            }
            offset = next
        }
        // By address; at one address, a sequence's end first, then rows in the order the program gave them
        // (the last one applies).
        let order = rows.indices.sorted { a, b in
            let x = rows[a], y = rows[b]
            if x.address != y.address { return x.address < y.address }
            if (x.line == endOfSequence) != (y.line == endOfSequence) { return x.line == endOfSequence }
            return a < b
        }
        file.addresses = order.map { rows[$0].address }
        file.lines = order.map { rows[$0].line }
        file.files = order.map { rows[$0].file }
        return file
    }

    /// Runs the line program of the unit at `start`, appending its rows; returns the next unit's offset.
    /// Before DWARF 5 the header does not name the compilation directory, which relative directories and
    /// files start from: `compilationDirectory` is the one the unit's `.debug_info` entry names.
    private static func parseUnit(_ s: UnsafeRawBufferPointer, at start: Int, compilationDirectory: String, lineStrings: UnsafeRawBufferPointer?,
                                  strings: UnsafeRawBufferPointer?, into rows: inout [(address: UInt64, line: UInt32, file: UInt32)],
                                  paths: inout [String], pathIndex: inout [String: UInt32],
                                  unitFiles: inout [Int: [UInt32]]) -> Int? {
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
            name.hasPrefix("/") || directory.isEmpty ? name : directory.hasSuffix("/") ? directory + name : directory + "/" + name
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
            // Directory 0 is the compilation directory; the others may be relative to it.
            guard entries({ i, path, _ in directories.append(i == 0 || directories.isEmpty ? path : join(directories[0], path)) }) else { return nil }
            guard entries({ _, path, directory in
                files.append(join(directory < directories.count ? directories[directory] : "", path))
            }) else { return nil }
        } else {
            directories.append(compilationDirectory)
            while let text = r.cString(), !text.isEmpty { directories.append(join(compilationDirectory, text)) }
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
        unitFiles[start] = fileIDs

        // The line program.
        r.position = programStart
        var address: UInt64 = 0, file = 1, line = 1
        func emit(_ line: Int) {
            let id = file < fileIDs.count ? fileIDs[file] : UInt32.max
            rows.append((address, UInt32(min(max(line, 0), Int(UInt32.max) - 1)), id))   // below endOfSequence
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
                    rows.append((address, endOfSequence, UInt32.max))
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
private let dladdrFunction = CFunction.named("dladdr", as: (@convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Int32).self)

/// The file holding `address` and where it is loaded.
private func loadedObject(containing address: UnsafeRawPointer) -> (file: String, base: UInt64)? {
    guard let dladdrFunction else { return nil }
    var info: (UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?) = (nil, nil, nil, nil)
    let found = withUnsafeMutableBytes(of: &info) { dladdrFunction(address, $0.baseAddress) }
    guard found != 0, let base = info.1 else { return nil }
    let name = info.0.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
    return (name, UInt64(UInt(bitPattern: base)))
}
