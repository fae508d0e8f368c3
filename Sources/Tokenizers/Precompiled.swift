// SentencePiece's precompiled normalization rules (normalizer.cc; Hugging Face's `spm_precompiled` crate):
// a Darts double-array trie over UTF-8 prefixes whose values index NUL-terminated replacement strings.

/// A `precompiled_charsmap`: a little-endian u32 trie size in bytes, the trie's u32 units, then the
/// replacement strings.
struct PrecompiledCharsmap: Sendable, Equatable {
    let units: [UInt32]
    let strings: [UInt8]

    /// Parses a charsmap; `field` names it in errors. An empty charsmap has no rules.
    init(_ bytes: [UInt8], file: String, field: String) throws(TokenizerError) {
        guard !bytes.isEmpty else { units = []; strings = []; return }
        guard bytes.count >= 4 else { throw .invalidField(file: file, field: field, reason: "is shorter than its 4-byte header") }
        let size = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        guard size % 4 == 0, size <= bytes.count - 4 else {
            throw .invalidField(file: file, field: field, reason: "declares a trie of \(size) bytes in \(bytes.count - 4)")
        }
        var units = [UInt32](repeating: 0, count: size / 4)
        for i in 0..<units.count {
            let k = 4 + 4 * i
            units[i] = UInt32(bytes[k]) | UInt32(bytes[k + 1]) << 8 | UInt32(bytes[k + 2]) << 16 | UInt32(bytes[k + 3]) << 24
        }
        self.units = units
        strings = Array(bytes[(4 + size)...])
    }

    var isEmpty: Bool { units.isEmpty }

    /// Every rule whose key is a prefix of `p[lo..<hi]`, shortest first, as (key length, replacement start).
    /// A corrupt trie ends the search instead of reading out of bounds.
    func prefixMatches(_ p: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> [(length: Int, value: Int)] {
        var out: [(Int, Int)] = []
        guard !units.isEmpty else { return out }
        func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }
        var node = offset(units[0])
        var i = lo
        while i < hi {
            let c = p[i]
            if c == 0 { break }
            node ^= Int(c)
            guard node < units.count else { break }
            let unit = units[node]
            if unit & ((1 << 31) | 0xFF) != UInt32(c) { break }
            node ^= offset(unit)
            guard node < units.count else { break }
            if (unit >> 8) & 1 == 1 { out.append((i + 1 - lo, Int(units[node] & 0x7FFF_FFFF))) }
            i += 1
        }
        return out
    }

    /// The replacement string at `value` (up to its NUL), or nil when `value` is outside the strings.
    func replacement(_ value: Int) -> ArraySlice<UInt8>? {
        guard value >= 0, value <= strings.count else { return nil }
        var end = value
        while end < strings.count, strings[end] != 0 { end += 1 }
        return strings[value..<end]
    }
}
