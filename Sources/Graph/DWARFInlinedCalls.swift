import Foundation

/// The inlined calls a file's `.debug_info` records (DWARF 2–5): for each `DW_TAG_inlined_subroutine`,
/// the link-time address ranges its code occupies, how deeply it is nested, and the call site (file and
/// line) in the function it was inlined into.
///
/// Why: the line table gives only the innermost line of an address. When the compiler inlined the
/// library's code into a model's function, that innermost line is the library's, and the model's line
/// is the call site recorded here. Units are indexed up front (their headers and address ranges) and
/// their entries read on first use, so a lookup reads only the units that hold the addresses asked for.
/// Anything unexpected (an unknown form, a truncated entry) leaves that unit without inlined calls.
struct DWARFInlinedCalls {
    /// One inlined call: where its code is, its nesting depth in the unit's tree, and its call site.
    struct Call {
        var low: UInt64
        var high: UInt64
        var depth: Int
        /// Index into the line table's paths; `UInt32.max` when the unit names no such file.
        var file: UInt32
        var line: UInt32
    }

    /// Address ranges with a value each, sorted by start, with the running maximum of the ends so that a
    /// lookup scans back only over ranges that can still hold the address (they nest or overlap).
    struct Intervals<Value> {
        private(set) var items: [(low: UInt64, high: UInt64, value: Value)] = []
        private var highestSoFar: [UInt64] = []

        init(_ unsorted: [(low: UInt64, high: UInt64, value: Value)]) {
            items = unsorted.enumerated().sorted { ($0.element.low, $0.offset) < ($1.element.low, $1.offset) }.map(\.element)
            var highest: UInt64 = 0
            highestSoFar = items.map { highest = max(highest, $0.high); return highest }
        }

        /// The values of the ranges holding `address`, latest start first.
        func containing(_ address: UInt64) -> [Value] {
            var low = 0, high = items.count
            while low < high {
                let mid = (low + high) / 2
                if items[mid].low <= address { low = mid + 1 } else { high = mid }
            }
            var found: [Value] = []
            var i = low - 1
            while i >= 0, highestSoFar[i] > address {
                if items[i].high > address { found.append(items[i].value) }
                i -= 1
            }
            return found
        }
    }

    /// One unit's calls.
    struct UnitCalls {
        let intervals: Intervals<Call>

        init(_ calls: [Call]) { intervals = Intervals(calls.map { ($0.low, $0.high, $0) }) }

        var calls: [Call] { intervals.items.map(\.value) }

        /// The calls whose code holds `address`, innermost (deepest) first.
        func containing(_ address: UInt64) -> [Call] {
            intervals.containing(address).sorted { $0.depth > $1.depth }
        }
    }

    /// A unit's header and the attributes of its root entry that the calls inside it need.
    struct Unit {
        var offset: Int
        var end: Int
        var version: Int
        var offsetSize: Int
        var addressSize: Int
        var abbreviationOffset: Int
        var entriesStart: Int
        var base: UInt64 = 0
        var addressBase: UInt64?
        var rangeListsBase: UInt64?
        var lineProgram: Int?
        /// `DW_AT_comp_dir`: what relative paths of the unit's line program (before DWARF 5) start from.
        var compilationDirectory: String?
    }

    let sections: DebugSections
    private(set) var units: [Unit] = []
    /// The abbreviation tables the units use, by offset in `.debug_abbrev` (nil: unreadable).
    private var abbreviationTables: [Int: DWARFAbbreviationTable?] = [:]
    /// Every unit's address ranges, valued by the unit's index.
    private var unitRanges = Intervals<Int>([])

    /// The sections read; nil ones are absent from the file.
    struct DebugSections {
        var info: UnsafeRawBufferPointer
        var abbreviations: UnsafeRawBufferPointer
        var ranges: UnsafeRawBufferPointer?
        var rangeLists: UnsafeRawBufferPointer?
        var addresses: UnsafeRawBufferPointer?
        var strings: UnsafeRawBufferPointer?
        var lineStrings: UnsafeRawBufferPointer?
    }

    /// Indexes the units of `elf`; nil when it has no `.debug_info`.
    init?(_ elf: ELFSections) {
        guard let info = elf.section(".debug_info"), let abbreviations = elf.section(".debug_abbrev") else { return nil }
        sections = DebugSections(info: info, abbreviations: abbreviations, ranges: elf.section(".debug_ranges"),
                                 rangeLists: elf.section(".debug_rnglists"), addresses: elf.section(".debug_addr"),
                                 strings: elf.section(".debug_str"), lineStrings: elf.section(".debug_line_str"))
        var unitRangeList: [(low: UInt64, high: UInt64, value: Int)] = []
        var offset = 0
        while offset < info.count {
            guard var unit = Self.header(info, at: offset) else { break }
            offset = unit.end
            guard unit.entriesStart < unit.end else { continue }
            if abbreviationTables[unit.abbreviationOffset] == nil {
                abbreviationTables[unit.abbreviationOffset] = DWARFAbbreviationTable(abbreviations, at: unit.abbreviationOffset)
            }
            guard let table = abbreviationTables[unit.abbreviationOffset] ?? nil else { continue }
            var r = ByteReader(info, at: unit.entriesStart)
            guard let code = r.uleb(), let root = table[code] else { continue }
            var attributes: [(name: UInt64, value: DWARFValue)] = []
            for spec in root.attributes {
                guard let value = r.attribute(spec.form, implicit: spec.implicit, unit: unit) else { break }
                attributes.append((spec.name, value))
            }
            guard attributes.count == root.attributes.count else { continue }
            var low: DWARFValue?, high: DWARFValue?, ranges: DWARFValue?
            for (name, value) in attributes {
                switch name {
                case 0x11: low = value                                        // DW_AT_low_pc
                case 0x12: high = value                                       // DW_AT_high_pc
                case 0x55: ranges = value                                     // DW_AT_ranges
                case 0x10: unit.lineProgram = value.offset.map(Int.init)      // DW_AT_stmt_list
                case 0x73: unit.addressBase = value.offset                    // DW_AT_addr_base
                case 0x74: unit.rangeListsBase = value.offset                 // DW_AT_rnglists_base
                case 0x1b: unit.compilationDirectory = string(value)          // DW_AT_comp_dir
                default: break
                }
            }
            unit.base = low.flatMap { resolveAddress($0, unit: unit) } ?? 0
            let index = units.count
            units.append(unit)
            for range in addressRanges(low: low, high: high, ranges: ranges, unit: unit) {
                unitRangeList.append((range.low, range.high, index))
            }
        }
        unitRanges = Intervals(unitRangeList)
    }

    /// The indices of the units whose ranges hold `address`.
    func units(containing address: UInt64) -> [Int] {
        var found: [Int] = []
        for unit in unitRanges.containing(address) where !found.contains(unit) { found.append(unit) }
        return found
    }

    /// Reads the inlined calls of unit `index`; `files` maps the unit's line-program file numbers to
    /// path indices. Empty when the unit's entries cannot be read.
    func calls(inUnit index: Int, files: [UInt32]) -> UnitCalls {
        let unit = units[index]
        guard let table = abbreviationTables[unit.abbreviationOffset] ?? nil else { return UnitCalls([]) }
        var calls: [Call] = []
        var r = ByteReader(sections.info, at: unit.entriesStart)
        var depth = 0
        while r.position < unit.end {
            guard let code = r.uleb() else { return UnitCalls([]) }
            if code == 0 { depth -= 1; continue }
            guard let entry = table[code] else { return UnitCalls([]) }
            var low: DWARFValue?, high: DWARFValue?, ranges: DWARFValue?
            var file: UInt64?, line: UInt64?
            for spec in entry.attributes {
                guard let value = r.attribute(spec.form, implicit: spec.implicit, unit: unit) else { return UnitCalls([]) }
                guard entry.tag == 0x1d else { continue }   // only DW_TAG_inlined_subroutine's attributes matter
                switch spec.name {
                case 0x11: low = value
                case 0x12: high = value
                case 0x55: ranges = value
                case 0x58: file = value.constant          // DW_AT_call_file
                case 0x59: line = value.constant          // DW_AT_call_line
                default: break
                }
            }
            if entry.tag == 0x1d {
                let path = file.flatMap { $0 < UInt64(files.count) ? files[Int($0)] : nil } ?? UInt32.max
                for range in addressRanges(low: low, high: high, ranges: ranges, unit: unit) {
                    calls.append(Call(low: range.low, high: range.high, depth: depth, file: path,
                                      line: UInt32(clamping: line ?? 0)))
                }
            }
            if entry.hasChildren { depth += 1 }
        }
        return UnitCalls(calls)
    }

    /// The header of the unit at `offset`; nil when it is truncated or of an unknown version. Type and
    /// skeleton units are returned with no entries to read (`entriesStart == end`).
    private static func header(_ info: UnsafeRawBufferPointer, at offset: Int) -> Unit? {
        var r = ByteReader(info, at: offset)
        guard var length = r.u32().map(UInt64.init) else { return nil }
        var offsetSize = 4
        if length == 0xffff_ffff { guard let l = r.u64() else { return nil }; length = l; offsetSize = 8 }
        guard length <= UInt64(info.count - r.position) else { return nil }
        let end = r.position + Int(length)
        guard let version = r.u16(), (2...5).contains(version) else { return nil }
        func readOffset() -> UInt64? { offsetSize == 8 ? r.u64() : r.u32().map(UInt64.init) }
        var unitType: UInt8 = 1
        let abbreviations: UInt64, addressSize: UInt8
        if version >= 5 {
            guard let t = r.u8(), let a = r.u8(), let o = readOffset() else { return nil }
            unitType = t; addressSize = a; abbreviations = o
            if t == 4 || t == 5 { guard r.u64() != nil else { return nil } }              // skeleton, split: DWO id
            if t == 2 || t == 6 { guard r.u64() != nil, readOffset() != nil else { return nil } }   // type units
        } else {
            guard let o = readOffset(), let a = r.u8() else { return nil }
            abbreviations = o; addressSize = a
        }
        guard addressSize == 4 || addressSize == 8, abbreviations < UInt64(Int.max) else { return nil }
        let readable = unitType == 1 || unitType == 3   // compile and partial units
        return Unit(offset: offset, end: end, version: Int(version), offsetSize: offsetSize, addressSize: Int(addressSize),
                    abbreviationOffset: Int(abbreviations), entriesStart: readable ? r.position : end)
    }

    /// A string attribute's text, when it is inline or in `.debug_str` / `.debug_line_str`.
    private func string(_ value: DWARFValue) -> String? {
        var r: ByteReader
        switch value {
        case .inlineString(let position): r = ByteReader(sections.info, at: position)
        case .stringOffset(let form, let offset):
            guard let section = form == 0x1f ? sections.lineStrings : sections.strings, offset < UInt64(section.count) else { return nil }
            r = ByteReader(section, at: Int(offset))
        default: return nil
        }
        return r.cString()
    }

    /// The compilation directory of each unit, by the offset of its line program in `.debug_line`.
    var compilationDirectories: [Int: String] {
        var result: [Int: String] = [:]
        for unit in units { if let program = unit.lineProgram, let directory = unit.compilationDirectory { result[program] = directory } }
        return result
    }

    /// An address attribute's value: itself, or its entry in `.debug_addr`.
    private func resolveAddress(_ value: DWARFValue, unit: Unit) -> UInt64? {
        switch value {
        case .address(let a): return a
        case .addressIndex(let i):
            guard let addresses = sections.addresses, let base = unit.addressBase else { return nil }
            let (position, overflow) = base.addingReportingOverflow(i.multipliedReportingOverflow(by: UInt64(unit.addressSize)).partialValue)
            guard !overflow, position < UInt64(addresses.count) else { return nil }
            var r = ByteReader(addresses, at: Int(position))
            return unit.addressSize == 8 ? r.u64() : r.u32().map(UInt64.init)
        default: return nil
        }
    }

    /// The ranges an entry covers, from `DW_AT_low_pc`/`DW_AT_high_pc` or `DW_AT_ranges`.
    private func addressRanges(low: DWARFValue?, high: DWARFValue?, ranges: DWARFValue?, unit: Unit) -> [(low: UInt64, high: UInt64)] {
        if let low, let high, let start = resolveAddress(low, unit: unit) {
            // DW_AT_high_pc is an address, or (DWARF 4 on) a length from low_pc.
            let end = high.constant.map { start &+ $0 } ?? resolveAddress(high, unit: unit)
            guard let end, end > start else { return [] }
            return [(start, end)]
        }
        guard let ranges else { return [] }
        return unit.version >= 5 ? rangeList(ranges, unit: unit) : rangesV4(ranges, unit: unit)
    }

    /// A DWARF 2–4 range list in `.debug_ranges`: address pairs relative to the unit's base, a pair whose
    /// first address is all ones setting a new base, and (0, 0) ending it.
    private func rangesV4(_ value: DWARFValue, unit: Unit) -> [(low: UInt64, high: UInt64)] {
        guard let section = sections.ranges, let offset = value.offset, offset < UInt64(section.count) else { return [] }
        var r = ByteReader(section, at: Int(offset))
        var base = unit.base
        var result: [(low: UInt64, high: UInt64)] = []
        let allOnes: UInt64 = unit.addressSize == 8 ? .max : 0xffff_ffff
        while let a = unit.addressSize == 8 ? r.u64() : r.u32().map(UInt64.init),
              let b = unit.addressSize == 8 ? r.u64() : r.u32().map(UInt64.init) {
            if a == 0 && b == 0 { break }
            if a == allOnes { base = b; continue }
            if b > a { result.append((base &+ a, base &+ b)) }
        }
        return result
    }

    /// A DWARF 5 range list in `.debug_rnglists`, by offset or by index into the unit's offset table.
    private func rangeList(_ value: DWARFValue, unit: Unit) -> [(low: UInt64, high: UInt64)] {
        guard let section = sections.rangeLists else { return [] }
        var start: UInt64
        switch value {
        case .rangeListIndex(let i):
            guard let base = unit.rangeListsBase else { return [] }
            let (entry, overflow) = base.addingReportingOverflow(i.multipliedReportingOverflow(by: UInt64(unit.offsetSize)).partialValue)
            guard !overflow, entry < UInt64(section.count) else { return [] }
            var r = ByteReader(section, at: Int(entry))
            guard let relative = unit.offsetSize == 8 ? r.u64() : r.u32().map(UInt64.init) else { return [] }
            start = base &+ relative
        default:
            guard let offset = value.offset else { return [] }
            start = offset
        }
        guard start < UInt64(section.count) else { return [] }
        var r = ByteReader(section, at: Int(start))
        var base = unit.base
        var result: [(low: UInt64, high: UInt64)] = []
        func address() -> UInt64? { unit.addressSize == 8 ? r.u64() : r.u32().map(UInt64.init) }
        func indexed(_ i: UInt64?) -> UInt64? { i.flatMap { resolveAddress(.addressIndex($0), unit: unit) } }
        func add(_ a: UInt64?, _ b: UInt64?) -> Bool {
            guard let a, let b else { return false }
            if b > a { result.append((a, b)) }
            return true
        }
        while let kind = r.u8() {
            switch kind {
            case 0: return result                                                             // end_of_list
            case 1: guard let b = indexed(r.uleb()) else { return result }; base = b          // base_addressx
            case 2: guard add(indexed(r.uleb()), indexed(r.uleb())) else { return result }    // startx_endx
            case 3:                                                                           // startx_length
                guard let a = indexed(r.uleb()), let n = r.uleb(), add(a, a &+ n) else { return result }
            case 4:                                                                           // offset_pair
                guard let a = r.uleb(), let b = r.uleb(), add(base &+ a, base &+ b) else { return result }
            case 5: guard let b = address() else { return result }; base = b                  // base_address
            case 6: guard add(address(), address()) else { return result }                    // start_end
            case 7:                                                                           // start_length
                guard let a = address(), let n = r.uleb(), add(a, a &+ n) else { return result }
            default: return result
            }
        }
        return result
    }
}

/// One entry kind of `.debug_abbrev`: its tag, whether children follow it, and its attributes' forms.
struct DWARFAbbreviation {
    var tag: UInt64
    var hasChildren: Bool
    var attributes: [(name: UInt64, form: UInt64, implicit: Int64)]
}

/// The abbreviation table at an offset of `.debug_abbrev`, by code.
struct DWARFAbbreviationTable {
    private var dense: [DWARFAbbreviation?] = []
    private var sparse: [UInt64: DWARFAbbreviation] = [:]

    init?(_ section: UnsafeRawBufferPointer, at offset: Int) {
        var r = ByteReader(section, at: offset)
        while true {
            guard let code = r.uleb() else { return nil }
            if code == 0 { return }
            guard let tag = r.uleb(), let children = r.u8() else { return nil }
            var entry = DWARFAbbreviation(tag: tag, hasChildren: children != 0, attributes: [])
            while true {
                guard let name = r.uleb(), let form = r.uleb() else { return nil }
                if name == 0 && form == 0 { break }
                var implicit: Int64 = 0
                if form == 0x21 { guard let v = r.sleb() else { return nil }; implicit = v }   // implicit_const
                entry.attributes.append((name, form, implicit))
            }
            if code < 65_536 {
                if dense.count <= Int(code) { dense.append(contentsOf: repeatElement(nil, count: Int(code) + 1 - dense.count)) }
                dense[Int(code)] = entry
            } else {
                sparse[code] = entry
            }
        }
    }

    subscript(code: UInt64) -> DWARFAbbreviation? {
        code < UInt64(dense.count) ? dense[Int(code)] : sparse[code]
    }
}

/// An attribute value, kept only as far as the inlined-call reader needs it.
enum DWARFValue {
    case constant(UInt64)
    case address(UInt64)
    case addressIndex(UInt64)
    case rangeListIndex(UInt64)
    case sectionOffset(UInt64)
    /// A string in the unit itself, at this offset of `.debug_info`.
    case inlineString(Int)
    /// A string in `.debug_str` (form `strp`) or `.debug_line_str` (`line_strp`).
    case stringOffset(form: UInt64, UInt64)
    case other

    var constant: UInt64? { if case .constant(let v) = self { v } else { nil } }
    /// A section offset (DWARF 2 and 3 wrote them as constants).
    var offset: UInt64? {
        switch self {
        case .sectionOffset(let v), .constant(let v): v
        default: nil
        }
    }
}

extension ByteReader {
    /// Reads one attribute of `form` in `unit`; nil for a truncated value or a form this reader does not know.
    mutating func attribute(_ form: UInt64, implicit: Int64, unit: DWARFInlinedCalls.Unit) -> DWARFValue? {
        func skip(_ n: Int) -> DWARFValue? {
            guard n >= 0, position <= bytes.count - n else { return nil }
            position += n
            return .other
        }
        func sized(_ n: Int) -> UInt64? {
            switch n {
            case 1: u8().map(UInt64.init)
            case 2: u16().map(UInt64.init)
            case 3: u16().flatMap { lowBits in u8().map { UInt64(lowBits) | UInt64($0) << 16 } }
            case 4: u32().map(UInt64.init)
            default: u64()
            }
        }
        switch form {
        case 0x01: return sized(unit.addressSize).map(DWARFValue.address)                   // addr
        case 0x03: return u16().flatMap { skip(Int($0)) }                                         // block2
        case 0x04: return u32().flatMap { skip(Int($0)) }                                         // block4
        case 0x09, 0x18: return uleb().flatMap { $0 < UInt64(Int.max) ? skip(Int($0)) : nil }     // block, exprloc
        case 0x0a: return u8().flatMap { skip(Int($0)) }                                          // block1
        case 0x0b: return sized(1).map(DWARFValue.constant)                                   // data1
        case 0x05: return sized(2).map(DWARFValue.constant)                                   // data2
        case 0x06: return sized(4).map(DWARFValue.constant)                                   // data4
        case 0x07: return sized(8).map(DWARFValue.constant)                                   // data8
        case 0x0d: return sleb().map { .constant(UInt64(bitPattern: $0)) }                        // sdata
        case 0x0f: return uleb().map(DWARFValue.constant)                                     // udata
        case 0x21: return .constant(UInt64(bitPattern: implicit))                                 // implicit_const
        case 0x0c: return skip(1)                                                                  // flag
        case 0x19: return .other                                                                   // flag_present
        case 0x08:                                                                                 // string
            let start = position
            while position < bytes.count && bytes[position] != 0 { position += 1 }
            guard position < bytes.count else { return nil }
            position += 1
            return .inlineString(start)
        case 0x0e, 0x1f: return sized(unit.offsetSize).map { .stringOffset(form: form, $0) }      // strp, line_strp
        case 0x1d, 0x1f20, 0x1f21: return skip(unit.offsetSize)                                    // strp_sup, GNU alt
        case 0x10: return skip(unit.version <= 2 ? unit.addressSize : unit.offsetSize)             // ref_addr
        case 0x11: return skip(1)                                                                  // ref1
        case 0x12: return skip(2)                                                                  // ref2
        case 0x13, 0x1c: return skip(4)                                                            // ref4, ref_sup4
        case 0x14, 0x20, 0x24: return skip(8)                                                      // ref8, ref_sig8, ref_sup8
        case 0x1e: return skip(16)                                                                 // data16
        case 0x15, 0x1a, 0x22, 0x1f02: return uleb().map { _ in .other }                          // ref_udata, strx, loclistx, GNU_str_index
        case 0x17: return sized(unit.offsetSize).map(DWARFValue.sectionOffset)                // sec_offset
        case 0x1b, 0x1f01: return uleb().map(DWARFValue.addressIndex)                        // addrx, GNU_addr_index
        case 0x29, 0x2a, 0x2b, 0x2c: return sized(Int(form - 0x28)).map(DWARFValue.addressIndex)   // addrx1–4
        case 0x25, 0x26, 0x27, 0x28: return skip(Int(form - 0x24))                                 // strx1–4
        case 0x23: return uleb().map(DWARFValue.rangeListIndex)                               // rnglistx
        case 0x16:                                                                                 // indirect
            guard let actual = uleb(), actual != 0x16 else { return nil }
            return attribute(actual, implicit: implicit, unit: unit)
        default: return nil
        }
    }
}
