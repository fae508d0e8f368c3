// The normalizers SentencePiece-based tokenizer.json files chain (normalizers/{precompiled,strip,replace,
// prepend,unicode}.rs), on a `NormalizedText` so that offsets map back to the original text as HF's
// `NormalizedString` alignments do.

/// A `Replace` pattern: a literal string or a single character repeated at least `minimum` times
/// (` {2,}`, the only regex SentencePiece conversions use).
enum ReplacePattern: Sendable, Equatable {
    case literal([UInt8])
    case repeated(UInt8, minimum: Int)
}

/// One normalizer of a `Sequence` (BertNormalizer stands alone, see `BertNormalizer`).
enum NormalizerStep: Sendable, Equatable {
    case precompiled(PrecompiledCharsmap)
    case strip(left: Bool, right: Bool)
    case replace(ReplacePattern, content: [UInt8])
    case prepend([UInt8])
    /// Lowercase: each character's lower-case mapping (probed from HF), every byte spanning the character.
    case lowercase
    /// NFD, NFKD, NFC or NFKC, aligned as HF's `NormalizedString::nfd()` and the others.
    case unicode(NormalizationForm)
    /// StripAccents: removes combining marks (HF's `filter(|c| !is_combining_mark(c))`); usually after NFD or NFKD.
    case stripAccents

    /// Applies the step to `text` (a piece of text between added tokens starting at `pieceStart` in the
    /// original), into `out` (emptied first).
    func apply(_ text: NormalizedText, pieceStart: Int32, into out: inout NormalizedText) {
        out.removeAll()
        switch self {
        case let .precompiled(charsmap):
            NormalizerStep.precompiled(charsmap, text, pieceStart: pieceStart, into: &out)
        case let .strip(left, right):
            var lo = 0, hi = text.bytes.count
            text.bytes.withUnsafeBufferPointer { p in
                if left {
                    while lo < hi {
                        let (v, l) = decodeUTF8(p, at: lo)
                        guard isRustWhitespace(v) else { break }
                        lo += l
                    }
                }
                if right {
                    while hi > lo {
                        var s = hi - 1
                        while s > lo, p[s] & 0xC0 == 0x80 { s -= 1 }
                        guard isRustWhitespace(decodeUTF8(p, at: s).0) else { break }
                        hi = s
                    }
                }
            }
            out.bytes += text.bytes[lo..<hi]
            out.starts += text.starts[lo..<hi]
            out.ends += text.ends[lo..<hi]
        case let .replace(pattern, content):
            // HF's `NormalizedString::replace`: the replacement's bytes take the span of the match's last byte.
            var i = 0, copied = 0
            let b = text.bytes
            func emit(_ lo: Int, _ hi: Int) {
                out.bytes += b[copied..<lo]
                out.starts += text.starts[copied..<lo]
                out.ends += text.ends[copied..<lo]
                let (s, e) = hi > 0 ? (text.starts[hi - 1], text.ends[hi - 1]) : (pieceStart, pieceStart)
                for byte in content { out.append(byte: byte, start: s, end: e) }
                copied = hi
            }
            switch pattern {
            case let .literal(key):
                guard !key.isEmpty else { break }
                while i + key.count <= b.count {
                    if b[i] == key[0] && b[i..<(i + key.count)].elementsEqual(key) {
                        emit(i, i + key.count)
                        i += key.count
                    } else {
                        i += 1
                    }
                }
            case let .repeated(byte, minimum):
                while i < b.count {
                    guard b[i] == byte else { i += 1; continue }
                    var j = i
                    while j < b.count, b[j] == byte { j += 1 }
                    if j - i >= minimum { emit(i, j) }
                    i = j
                }
            }
            out.bytes += b[copied...]
            out.starts += text.starts[copied...]
            out.ends += text.ends[copied...]
        case .lowercase:
            var mapped: [UInt32] = []
            text.bytes.withUnsafeBufferPointer { p in
                var i = 0
                while i < p.count {
                    let (v, length) = decodeUTF8(p, at: i)
                    mapped.removeAll(keepingCapacity: true)
                    UnicodeData.appendLowercase(of: v, to: &mapped)
                    for m in mapped { out.append(scalar: m, start: text.starts[i], end: text.ends[i]) }
                    i += length
                }
            }
        case let .unicode(form):
            guard text.bytes.contains(where: { $0 >= 0x80 }) else {  // ASCII never changes
                out = text
                return
            }
            NormalizerStep.transform(text, form.apply(text.scalars), pieceStart: pieceStart, into: &out)
        case .stripAccents:
            // HF's `NormalizedString::filter`: each kept character absorbs the removed ones after it; those
            // before the first kept one are skipped by the transform's initial offset.
            var dest: [(UInt32, Int)] = []
            var last: UInt32? = nil
            var removed = 0, removedFirst = 0
            let scalars = text.scalars
            for v in scalars {
                guard !UnicodeData.isCombiningMark(v) else { removed += 1; continue }
                if let l = last { dest.append((l, -removed)) } else { removedFirst = removed }
                last = v
                removed = 0
            }
            if let l = last { dest.append((l, -removed)) }
            guard dest.count != scalars.count else {  // nothing removed
                out = text
                return
            }
            NormalizerStep.transform(text, dest, pieceStart: pieceStart, initialOffset: removedFirst, into: &out)
        case let .prepend(prefix):
            // HF's `NormalizedString::prepend`: the prefix takes the span of the first character.
            guard !text.bytes.isEmpty else { return }
            for byte in prefix { out.append(byte: byte, start: text.starts[0], end: text.ends[0]) }
            out.bytes += text.bytes
            out.starts += text.starts
            out.ends += text.ends
        }
    }

    /// HF's Precompiled normalizer: each grapheme cluster shorter than 6 bytes is replaced whole when a rule
    /// matches a prefix of it (the first, shortest match, as `spm_precompiled` does), otherwise each of its
    /// characters is replaced by its rule or kept; alignments then follow HF's `NormalizedString::transform`.
    /// Grapheme clusters come from Swift's `Character`s.
    private static func precompiled(_ charsmap: PrecompiledCharsmap, _ text: NormalizedText, pieceStart: Int32,
                                    into out: inout NormalizedText) {
        var dest: [(UInt32, Int)] = []
        var modified = false
        let string = String(decoding: text.bytes, as: UTF8.self)
        var utf8 = Array(string.utf8)
        if utf8 != text.bytes { utf8 = text.bytes }  // never differs for valid UTF-8
        utf8.withUnsafeBufferPointer { p in
            func replace(_ lo: Int, _ hi: Int, with replacement: ArraySlice<UInt8>) {
                var oldCount = 0
                var k = lo
                while k < hi { oldCount += 1; k += utf8Length(p[k]) }
                let new = Array(String(decoding: replacement, as: UTF8.self).unicodeScalars.map(\.value))
                let diff = new.count - oldCount
                for v in new { dest.append((v, 0)) }
                if diff > 0 {
                    for k in (dest.count - diff)..<dest.count { dest[k].1 = 1 }
                } else if diff < 0, !dest.isEmpty {
                    dest[dest.count - 1].1 += diff
                }
            }
            var lo = 0
            for character in string {
                let hi = lo + character.utf8.count
                if hi - lo < 6, let first = charsmap.prefixMatches(p, lo, hi).first,
                   let replacement = charsmap.replacement(first.value) {
                    modified = true
                    replace(lo, hi, with: replacement)
                    lo = hi
                    continue
                }
                var i = lo
                while i < hi {
                    let length = utf8Length(p[i])
                    if let first = charsmap.prefixMatches(p, i, i + length).first,
                       let replacement = charsmap.replacement(first.value) {
                        modified = true
                        replace(i, i + length, with: replacement)
                    } else {
                        dest.append((decodeUTF8(p, at: i).0, 0))
                    }
                    i += length
                }
                lo = hi
            }
        }
        guard modified else {
            out.bytes += text.bytes
            out.starts += text.starts
            out.ends += text.ends
            return
        }
        transform(text, dest, pieceStart: pieceStart, into: &out)
    }

    /// HF's `NormalizedString::transform(dest, initialOffset)`: `dest` holds each new character with its
    /// change (0 replaces the next old character, 1 inserts, -n replaces one and removes n more); a
    /// replacing character takes the old character's span, an inserted one the span of the byte before.
    /// The first `initialOffset` old characters are dropped before `dest` starts.
    static func transform(_ old: NormalizedText, _ dest: [(UInt32, Int)], pieceStart: Int32, initialOffset: Int = 0,
                          into out: inout NormalizedText) {
        var offset = 0
        let n = old.bytes.count
        for _ in 0..<initialOffset where offset < n { offset += utf8Length(old.bytes[offset]) }
        for (v, change) in dest {
            let (s, e): (Int32, Int32)
            if change > 0 {
                (s, e) = offset < 1 ? (pieceStart, pieceStart) : (old.starts[min(offset, n) - 1], old.ends[min(offset, n) - 1])
            } else if offset < n {
                (s, e) = (old.starts[offset], old.ends[offset])
            } else {
                (s, e) = n > 0 ? (old.ends[n - 1], old.ends[n - 1]) : (pieceStart, pieceStart)
            }
            if change <= 0, offset < n { offset += utf8Length(old.bytes[offset]) }
            if change < 0 {
                for _ in 0..<(-change) where offset < n { offset += utf8Length(old.bytes[offset]) }
            }
            out.append(scalar: v, start: s, end: e)
        }
    }
}

/// Rust's `char::is_whitespace` (the White_Space property).
func isRustWhitespace(_ v: UInt32) -> Bool {
    (v >= 0x09 && v <= 0x0D) || v == 0x20 || v == 0x85 || v == 0xA0 || v == 0x1680 || (v >= 0x2000 && v <= 0x200A)
        || v == 0x2028 || v == 0x2029 || v == 0x202F || v == 0x205F || v == 0x3000
}
