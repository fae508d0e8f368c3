/// The character classes the BERT normalizer, the BERT pre-tokenizer and the ByteLevel regex use, looked up
/// per Unicode scalar from `UnicodeTables` (probed from Hugging Face `tokenizers`, so that the Unicode
/// version of Swift's runtime does not change any id).
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8
    /// Deleted by BertNormalizer's clean_text (NUL, U+FFFD, Cc but \t\n\r, Cf, Co).
    static let removed = ScalarClass(rawValue: 1)
    /// Mapped to ' ' by clean_text and split on by BertPreTokenizer.
    static let whitespace = ScalarClass(rawValue: 2)
    /// Isolated by BertPreTokenizer.
    static let bertPunctuation = ScalarClass(rawValue: 4)
    /// Deleted by strip_accents after NFD.
    static let nonspacingMark = ScalarClass(rawValue: 8)
    /// `\p{L}` in the ByteLevel regex.
    static let letter = ScalarClass(rawValue: 16)
    /// `\p{N}` in the ByteLevel regex.
    static let number = ScalarClass(rawValue: 32)
    /// `\s` in the ByteLevel regex.
    static let regexWhitespace = ScalarClass(rawValue: 64)
    /// Has a canonical decomposition or a lower-case mapping (see `UnicodeData.decomposition`).
    static let mapped = ScalarClass(rawValue: 128)
}

/// Lookups into `UnicodeTables`.
enum UnicodeData {
    private static let rangeTables: [([UInt32], ScalarClass)] = [
        (UnicodeTables.removed, .removed), (UnicodeTables.whitespace, .whitespace),
        (UnicodeTables.bertPunctuation, .bertPunctuation), (UnicodeTables.nonspacingMark, .nonspacingMark),
        (UnicodeTables.regexLetter, .letter), (UnicodeTables.regexNumber, .number),
        (UnicodeTables.regexWhitespace, .regexWhitespace),
    ]

    /// Classes of every scalar of the Basic Multilingual Plane, built once and never freed. Hot loops read
    /// it into a local first (a static's lazy initialization check costs a call per access). Never written
    /// after initialization, hence `nonisolated(unsafe)`.
    nonisolated(unsafe) static let planeZero: UnsafePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x10000)
        planeZeroArray.withUnsafeBufferPointer { table.initialize(from: $0.baseAddress!, count: 0x10000) }
        return UnsafePointer(table)
    }()

    private static var planeZeroArray: [UInt8] {
        var flags = [UInt8](repeating: 0, count: 0x10000)
        for (table, cls) in rangeTables {
            var i = 0
            while i < table.count {
                let first = Int(table[i]), last = Int(table[i + 1])
                if first < 0x10000 {
                    for v in first...min(last, 0xFFFF) { flags[v] |= cls.rawValue }
                }
                i += 2
            }
        }
        for key in decompositions.keys where key < 0x10000 { flags[Int(key)] |= ScalarClass.mapped.rawValue }
        for key in lowercases.keys where key < 0x10000 { flags[Int(key)] |= ScalarClass.mapped.rawValue }
        for v in 0xAC00...0xD7A3 { flags[v] |= ScalarClass.mapped.rawValue }
        return flags
    }

    static let decompositions: [UInt32: [UInt32]] = mapping(UnicodeTables.decomposition)
    static let lowercases: [UInt32: [UInt32]] = mapping(UnicodeTables.lowercase)
    /// NFKD of the scalars whose compatibility decomposition differs from their canonical one.
    static let compatibilityDecompositions: [UInt32: [UInt32]] = mapping(UnicodeTables.compatibilityDecomposition)
    /// The scalar two scalars compose to under NFC, keyed by `first << 32 | second`.
    private static let compositions: [UInt64: UInt32] = {
        var map: [UInt64: UInt32] = [:]
        let flat = UnicodeTables.composition
        for i in stride(from: 0, to: flat.count - 2, by: 3) {
            map[UInt64(flat[i]) << 32 | UInt64(flat[i + 1])] = flat[i + 2]
        }
        return map
    }()

    /// The canonical combining class of `v` (0 for starters and for scalars HF's tables do not know).
    static func combiningClass(_ v: UInt32) -> UInt8 {
        guard v >= 0x300 else { return 0 }
        let runs = UnicodeTables.combiningClass
        var lo = 0, hi = runs.count / 3
        while lo < hi {
            let mid = (lo + hi) / 2
            if runs[3 * mid + 1] < v { lo = mid + 1 } else { hi = mid }
        }
        guard lo < runs.count / 3, runs[3 * lo] <= v else { return 0 }
        return UInt8(truncatingIfNeeded: runs[3 * lo + 2])
    }

    /// The primary composite of `first` followed by `second`, if any (Hangul syllables algorithmically).
    static func compose(_ first: UInt32, _ second: UInt32) -> UInt32? {
        if first >= 0x1100 && first <= 0x1112 && second >= 0x1161 && second <= 0x1175 {
            return 0xAC00 + (first - 0x1100) * 588 + (second - 0x1161) * 28
        }
        if first >= 0xAC00 && first <= 0xD7A3 && (first - 0xAC00) % 28 == 0 && second >= 0x11A8 && second <= 0x11C2 {
            return first + (second - 0x11A7)
        }
        return compositions[UInt64(first) << 32 | UInt64(second)]
    }

    /// Whether the StripAccents normalizer removes `v` (a combining mark in HF's tables).
    static func isCombiningMark(_ v: UInt32) -> Bool {
        v >= 0x300 && contains(UnicodeTables.combiningMark, v)
    }

    private static func mapping(_ flat: [UInt32]) -> [UInt32: [UInt32]] {
        var map: [UInt32: [UInt32]] = [:]
        var i = 0
        while i < flat.count {
            let count = Int(flat[i + 1])
            map[flat[i]] = Array(flat[(i + 2)..<(i + 2 + count)])
            i += 2 + count
        }
        return map
    }

    private static func contains(_ table: [UInt32], _ v: UInt32) -> Bool {
        var lo = 0, hi = table.count / 2
        while lo < hi {
            let mid = (lo + hi) / 2
            if table[2 * mid + 1] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < table.count / 2 && table[2 * lo] <= v
    }

    /// The classes of scalar `v`.
    @inline(__always)
    static func classes(_ v: UInt32) -> ScalarClass {
        classes(v, planeZero)
    }

    /// The classes of scalar `v`, with `plane` = `planeZero`.
    @inline(__always)
    static func classes(_ v: UInt32, _ plane: UnsafePointer<UInt8>) -> ScalarClass {
        if v < 0x10000 { return ScalarClass(rawValue: plane[Int(v)]) }
        return supplementaryClasses(v)
    }

    private static func supplementaryClasses(_ v: UInt32) -> ScalarClass {
        var cls: ScalarClass = []
        for (table, c) in rangeTables where contains(table, v) { cls.insert(c) }
        if decompositions[v] != nil || lowercases[v] != nil { cls.insert(.mapped) }
        return cls
    }

    /// Appends the canonical decomposition (NFD) of `v` to `out`.
    static func appendDecomposition(of v: UInt32, to out: inout [UInt32]) {
        if v >= 0xAC00 && v <= 0xD7A3 {
            let s = v - 0xAC00
            out.append(0x1100 + s / 588)
            out.append(0x1161 + (s % 588) / 28)
            if s % 28 != 0 { out.append(0x11A7 + s % 28) }
        } else if let d = decompositions[v] {
            out.append(contentsOf: d)
        } else {
            out.append(v)
        }
    }

    /// Appends the lower-case mapping of `v` (possibly several scalars) to `out`.
    static func appendLowercase(of v: UInt32, to out: inout [UInt32]) {
        if let l = lowercases[v] { out.append(contentsOf: l) } else { out.append(v) }
    }

    /// Whether BertNormalizer's handle_chinese_chars puts spaces around `v` (the CJK ideograph blocks).
    @inline(__always)
    static func isChinese(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2A6DF)
            || (v >= 0x2A700 && v <= 0x2B73F) || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B920 && v <= 0x2CEAF)
            || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
    }
}
